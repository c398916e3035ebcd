// Hand-built batches for the ClickHouse exporter tests and benchmark, with
// every AnyValue type and the edge cases of the collector's mapping.
import { pino } from 'pino';
import type { ComponentContext } from '../../pipeline/component.js';
import type { KeyValue, LogBatch, TraceBatch } from '../../pipeline/model.js';
import { SelfMetrics } from '../../pipeline/telemetry/metrics.js';

export const TRACE_A = '0af7651916cd43dd8448eb211c80319c';
export const SPAN_A = 'b7ad6b7169203331';
export const SPAN_B = '00f067aa0ba902b7';
export const TRACE_LINK = '4bf92f3577b34da6a3ce929d0e0e4736';

/** One attribute of every AnyValue type, plus a repeated key (the later value wins). */
export const EVERY_TYPE: KeyValue[] = [
  { key: 'str', value: 'héllo "quoted"\n' },
  { key: 'bool', value: true },
  { key: 'int', value: 42n },
  { key: 'neg', value: -7n },
  { key: 'double', value: 3.5 },
  { key: 'whole_double', value: 2 },
  { key: 'bytes', value: new Uint8Array([1, 2, 3]) },
  { key: 'array', value: ['a', 1n, true, 1.5] },
  { key: 'map', value: { kvlist: [{ key: 'k', value: 'v' }, { key: 'n', value: 2n }] } },
  { key: 'empty', value: null },
  { key: 'dup', value: 'first' },
  { key: 'dup', value: 'second' },
];

/** What the collector's AsString writes for EVERY_TYPE. */
export const EVERY_TYPE_STRINGS: Record<string, string> = {
  str: 'héllo "quoted"\n',
  bool: 'true',
  int: '42',
  neg: '-7',
  double: '3.5',
  whole_double: '2',
  bytes: 'AQID',
  array: '["a",1,true,1.5]',
  map: '{"k":"v","n":2}',
  empty: '',
  dup: 'second',
};

export function traceBatch(): TraceBatch {
  return {
    signal: 'traces',
    resourceSpans: [
      {
        resource: { attributes: [{ key: 'service.name', value: 'checkout' }, ...EVERY_TYPE], droppedAttributesCount: 0 },
        schemaUrl: 'https://opentelemetry.io/schemas/1.21.0',
        scopeSpans: [
          {
            scope: { name: 'agent.tools', version: '1.2.3', attributes: [], droppedAttributesCount: 0 },
            schemaUrl: '',
            spans: [
              {
                traceId: TRACE_A,
                spanId: SPAN_A,
                parentSpanId: '',
                traceState: 'vendor=x',
                flags: 1,
                name: 'POST /orders',
                kind: 2,
                startTimeUnixNano: 1_700_000_000_123_456_789n,
                endTimeUnixNano: 1_700_000_000_125_000_000n,
                attributes: EVERY_TYPE,
                droppedAttributesCount: 0,
                events: [
                  { timeUnixNano: 1_700_000_000_124_000_001n, name: 'exception', attributes: [{ key: 'exception.type', value: 'Boom' }], droppedAttributesCount: 0 },
                  { timeUnixNano: 1_700_000_000_124_500_000n, name: 'retry', attributes: [{ key: 'n', value: 2n }], droppedAttributesCount: 0 },
                ],
                droppedEventsCount: 0,
                links: [{ traceId: TRACE_LINK, spanId: SPAN_B, traceState: 'a=b', attributes: [{ key: 'why', value: 'follows' }], droppedAttributesCount: 0, flags: 0 }],
                droppedLinksCount: 0,
                status: { code: 2, message: 'boom' },
              },
              {
                traceId: TRACE_A,
                spanId: SPAN_B,
                parentSpanId: SPAN_A,
                traceState: '',
                flags: 0,
                name: 'consume',
                kind: 5,
                startTimeUnixNano: 1_700_000_002_000_000_000n,
                // Ends before it starts: Duration is clamped to 0.
                endTimeUnixNano: 1_700_000_001_000_000_000n,
                attributes: [],
                droppedAttributesCount: 0,
                events: [],
                droppedEventsCount: 0,
                links: [],
                droppedLinksCount: 0,
                status: { code: 1, message: '' },
              },
            ],
          },
        ],
      },
      {
        // No service.name: ServiceName is empty, as in the collector.
        resource: { attributes: [{ key: 'host.name', value: 'h1' }], droppedAttributesCount: 0 },
        schemaUrl: '',
        scopeSpans: [
          {
            scope: { name: '', version: '', attributes: [], droppedAttributesCount: 0 },
            schemaUrl: '',
            spans: [0, 1, 3, 4].map((kind, i) => ({
              traceId: '11111111111111111111111111111111',
              spanId: `000000000000000${i + 1}`,
              parentSpanId: '',
              traceState: '',
              flags: 0,
              name: `k${kind}`,
              kind,
              startTimeUnixNano: 1_700_000_010_000_000_000n + BigInt(i),
              endTimeUnixNano: 1_700_000_010_000_000_100n,
              attributes: [],
              droppedAttributesCount: 0,
              events: [],
              droppedEventsCount: 0,
              links: [],
              droppedLinksCount: 0,
              status: { code: 0, message: '' },
            })),
          },
        ],
      },
    ],
  };
}

export function logBatch(): LogBatch {
  return {
    signal: 'logs',
    resourceLogs: [
      {
        resource: { attributes: [{ key: 'service.name', value: 'agent-7' }, { key: 'deployment.environment', value: 'prod' }], droppedAttributesCount: 0 },
        schemaUrl: 'https://opentelemetry.io/schemas/1.26.0',
        scopeLogs: [
          {
            scope: { name: 'sluice.sdk', version: '0.1.0', attributes: [{ key: 'scope.attr', value: 5n }], droppedAttributesCount: 0 },
            schemaUrl: 'https://opentelemetry.io/schemas/1.25.0',
            logRecords: [
              {
                timeUnixNano: 1_700_000_000_000_000_001n,
                observedTimeUnixNano: 1_700_000_005_000_000_000n,
                severityNumber: 9,
                severityText: 'INFO',
                body: 'tool call: search',
                attributes: EVERY_TYPE,
                droppedAttributesCount: 0,
                flags: 0x101,
                traceId: TRACE_A,
                spanId: SPAN_A,
                eventName: 'tool.call',
              },
              {
                // No time: the observed time is the Timestamp.
                timeUnixNano: 0n,
                observedTimeUnixNano: 1_700_000_006_000_000_002n,
                severityNumber: 17,
                severityText: 'ERROR',
                body: { kvlist: [{ key: 'code', value: 3n }, { key: 'msg', value: 'failed' }] },
                attributes: [],
                droppedAttributesCount: 0,
                flags: 0,
                traceId: '',
                spanId: '',
                eventName: '',
              },
              {
                timeUnixNano: 1_700_000_007_000_000_000n,
                observedTimeUnixNano: 0n,
                severityNumber: 0,
                severityText: '',
                body: 12.25,
                attributes: [],
                droppedAttributesCount: 0,
                flags: 1,
                traceId: '',
                spanId: '',
                eventName: '',
              },
            ],
          },
        ],
      },
    ],
  };
}

export function testContext(id = 'clickhouse', dataDir = '/nonexistent'): ComponentContext {
  return { id, logger: pino({ level: 'silent' }), metrics: new SelfMetrics({ defaultMetrics: false }), dataDir };
}
