// Builders for the internal model in tests: a span or log record with every
// field filled, overridable per test, and a one-resource batch around them.
import type { KeyValue, LogBatch, LogRecord, Span, TraceBatch } from '../../pipeline/model.js';

export function makeSpan(over: Partial<Span> = {}): Span {
  return {
    traceId: '5b8efff798038103d269b633813fc60c',
    spanId: '0000000000000001',
    parentSpanId: '',
    traceState: '',
    flags: 0,
    name: 'op',
    kind: 1,
    startTimeUnixNano: 1_700_000_000_000_000_000n,
    endTimeUnixNano: 1_700_000_000_500_000_000n,
    attributes: [],
    droppedAttributesCount: 0,
    events: [],
    droppedEventsCount: 0,
    links: [],
    droppedLinksCount: 0,
    status: { code: 0, message: '' },
    ...over,
  };
}

export function makeLogRecord(over: Partial<LogRecord> = {}): LogRecord {
  return {
    timeUnixNano: 1_700_000_000_000_000_000n,
    observedTimeUnixNano: 0n,
    severityNumber: 9,
    severityText: 'INFO',
    body: 'hello',
    attributes: [],
    droppedAttributesCount: 0,
    flags: 0,
    traceId: '',
    spanId: '',
    eventName: '',
    ...over,
  };
}

export function traceBatchOf(spans: Span[], resourceAttributes: KeyValue[] = []): TraceBatch {
  return {
    signal: 'traces',
    resourceSpans: [
      {
        resource: { attributes: resourceAttributes, droppedAttributesCount: 0 },
        schemaUrl: '',
        scopeSpans: [{ scope: { name: '', version: '', attributes: [], droppedAttributesCount: 0 }, schemaUrl: '', spans }],
      },
    ],
  };
}

export function logBatchOf(logRecords: LogRecord[], resourceAttributes: KeyValue[] = []): LogBatch {
  return {
    signal: 'logs',
    resourceLogs: [
      {
        resource: { attributes: resourceAttributes, droppedAttributesCount: 0 },
        schemaUrl: '',
        scopeLogs: [{ scope: { name: '', version: '', attributes: [], droppedAttributesCount: 0 }, schemaUrl: '', logRecords }],
      },
    ],
  };
}
