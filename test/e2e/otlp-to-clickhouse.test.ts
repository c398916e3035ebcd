// The spine, end to end: the official OpenTelemetry JS exporters (http/json,
// http/protobuf, gRPC; traces and logs) send to a started Sluice, and the rows
// are read back from ClickHouse through @clickhouse/client on the read-only
// port, column by column, against what the SDK recorded.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { createClient, type ClickHouseClient } from '@clickhouse/client';
import { context, SpanKind, SpanStatusCode, trace, type Link } from '@opentelemetry/api';
import { SeverityNumber } from '@opentelemetry/api-logs';
import { resourceFromAttributes } from '@opentelemetry/resources';
import { BasicTracerProvider, SimpleSpanProcessor, type ReadableSpan, type SpanExporter } from '@opentelemetry/sdk-trace-base';
import { LoggerProvider, SimpleLogRecordProcessor, type LogRecordExporter, type ReadableLogRecord } from '@opentelemetry/sdk-logs';
import { OTLPTraceExporter as HttpJsonTraceExporter } from '@opentelemetry/exporter-trace-otlp-http';
import { OTLPTraceExporter as HttpProtoTraceExporter } from '@opentelemetry/exporter-trace-otlp-proto';
import { OTLPTraceExporter as GrpcTraceExporter } from '@opentelemetry/exporter-trace-otlp-grpc';
import { OTLPLogExporter as HttpJsonLogExporter } from '@opentelemetry/exporter-logs-otlp-http';
import { OTLPLogExporter as HttpProtoLogExporter } from '@opentelemetry/exporter-logs-otlp-proto';
import { OTLPLogExporter as GrpcLogExporter } from '@opentelemetry/exporter-logs-otlp-grpc';
import { startTestService, type TestService } from '../helpers/service.js';

let service: TestService;
let ch: ClickHouseClient;

before(async () => {
  service = await startTestService();
  assert.ok(service.ports.query, 'the embedded engine serves the read-only ClickHouse port');
  ch = createClient({ url: `http://127.0.0.1:${service.ports.query}`, clickhouse_settings: { output_format_json_quote_64bit_integers: 1 } });
});

after(async () => {
  await ch?.close();
  await service?.cleanup();
});

async function rows<T>(query: string): Promise<T[]> {
  const rs = await ch.query({ query, format: 'JSONEachRow' });
  return rs.json<T>();
}

type Transport = 'http/json' | 'http/protobuf' | 'grpc';

function traceExporter(t: Transport): SpanExporter {
  if (t === 'grpc') return new GrpcTraceExporter({ url: `http://127.0.0.1:${service.ports.grpc}`, compression: 'gzip' as never });
  const url = `http://127.0.0.1:${service.ports.http}/v1/traces`;
  return t === 'http/json' ? new HttpJsonTraceExporter({ url }) : new HttpProtoTraceExporter({ url, compression: 'gzip' as never });
}

function logExporter(t: Transport): LogRecordExporter {
  if (t === 'grpc') return new GrpcLogExporter({ url: `http://127.0.0.1:${service.ports.grpc}` });
  const url = `http://127.0.0.1:${service.ports.http}/v1/logs`;
  return t === 'http/json' ? new HttpJsonLogExporter({ url }) : new HttpProtoLogExporter({ url });
}

interface TraceRow {
  Timestamp: string;
  Ts: string;
  TraceId: string;
  SpanId: string;
  ParentSpanId: string;
  SpanName: string;
  SpanKind: string;
  ServiceName: string;
  ResourceAttributes: Record<string, string>;
  ScopeName: string;
  ScopeVersion: string;
  SpanAttributes: Record<string, string>;
  Duration: string;
  StatusCode: string;
  StatusMessage: string;
  'Events.Timestamp': string[];
  EventTs: string[];
  'Events.Name': string[];
  'Events.Attributes': Array<Record<string, string>>;
  'Links.TraceId': string[];
  'Links.SpanId': string[];
  'Links.Attributes': Array<Record<string, string>>;
}

const TRACE_COLUMNS = `*, toString(toUnixTimestamp64Nano(Timestamp)) AS Ts, arrayMap(t -> toString(toUnixTimestamp64Nano(t)), Events.Timestamp) AS EventTs`;

for (const transport of ['http/json', 'http/protobuf', 'grpc'] as const) {
  describe(`traces over ${transport}`, () => {
    test('every span lands with the exact collector mapping', async () => {
      const service_name = `agent-${transport.replace('/', '-')}`;
      const captured: ReadableSpan[] = [];
      const provider = new BasicTracerProvider({
        resource: resourceFromAttributes({ 'service.name': service_name, 'deployment.environment': 'test', 'host.cpus': 2 }),
        spanProcessors: [
          new SimpleSpanProcessor(traceExporter(transport)),
          { onStart() {}, onEnd: (s: ReadableSpan) => void captured.push(s), forceFlush: async () => {}, shutdown: async () => {} },
        ],
      });
      const tracer = provider.getTracer('sluice-e2e', '1.2.3');
      const root = tracer.startSpan('agent.run', { kind: SpanKind.SERVER });
      const link: Link = { context: root.spanContext(), attributes: { 'link.kind': 'caused-by' } };
      const ctx = trace.setSpan(context.active(), root);
      const tool = tracer.startSpan(
        'tool.call export_table',
        {
          kind: SpanKind.CLIENT,
          links: [link],
          attributes: {
            'gen_ai.tool.name': 'export_table',
            'rows.limit': 5000,
            'sample.ratio': 0.25,
            'dry_run': false,
            'tables': ['orders', 'customers'],
            'retries': [1, 2, 3],
          },
        },
        ctx,
      );
      tool.addEvent('tool.started', { attempt: 1 });
      tool.setStatus({ code: SpanStatusCode.ERROR, message: 'quota exceeded' });
      tool.end();
      root.setStatus({ code: SpanStatusCode.OK });
      root.end();
      await provider.forceFlush();
      await provider.shutdown();
      await service.flush();

      const got = await rows<TraceRow>(`SELECT ${TRACE_COLUMNS} FROM otel_traces WHERE ServiceName = '${service_name}' ORDER BY SpanName`);
      assert.equal(got.length, 2);
      const byName = new Map(got.map((r) => [r.SpanName, r]));
      for (const span of captured) {
        const row = byName.get(span.name);
        assert.ok(row, `row for ${span.name}`);
        assert.equal(row.TraceId, span.spanContext().traceId);
        assert.equal(row.SpanId, span.spanContext().spanId);
        assert.equal(row.ParentSpanId, span.parentSpanContext?.spanId ?? '');
        assert.equal(row.Ts, String(BigInt(span.startTime[0]) * 1_000_000_000n + BigInt(span.startTime[1])));
        assert.equal(BigInt(row.Duration), BigInt(span.duration[0]) * 1_000_000_000n + BigInt(span.duration[1]));
        assert.equal(row.ServiceName, service_name);
        assert.equal(row.ScopeName, 'sluice-e2e');
        assert.equal(row.ScopeVersion, '1.2.3');
        assert.equal(row.ResourceAttributes['deployment.environment'], 'test');
        assert.equal(row.ResourceAttributes['host.cpus'], '2');
      }
      const tool_row = byName.get('tool.call export_table')!;
      assert.equal(tool_row.SpanKind, 'Client');
      assert.equal(tool_row.StatusCode, 'Error');
      assert.equal(tool_row.StatusMessage, 'quota exceeded');
      assert.deepEqual(
        { ...tool_row.SpanAttributes },
        {
          'gen_ai.tool.name': 'export_table',
          'rows.limit': '5000',
          'sample.ratio': '0.25',
          dry_run: 'false',
          tables: '["orders","customers"]',
          retries: '[1,2,3]',
        },
      );
      const toolSpan = captured.find((s) => s.name === 'tool.call export_table')!;
      assert.deepEqual(tool_row['Events.Name'], ['tool.started']);
      assert.deepEqual(tool_row.EventTs, [String(BigInt(toolSpan.events[0]!.time[0]) * 1_000_000_000n + BigInt(toolSpan.events[0]!.time[1]))]);
      assert.deepEqual(tool_row['Events.Attributes'], [{ attempt: '1' }]);
      assert.deepEqual(tool_row['Links.TraceId'], [root.spanContext().traceId]);
      assert.deepEqual(tool_row['Links.SpanId'], [root.spanContext().spanId]);
      assert.deepEqual(tool_row['Links.Attributes'], [{ 'link.kind': 'caused-by' }]);
      const root_row = byName.get('agent.run')!;
      assert.equal(root_row.SpanKind, 'Server');
      assert.equal(root_row.StatusCode, 'Ok');
      assert.equal(root_row.ParentSpanId, '');
    });
  });

  describe(`logs over ${transport}`, () => {
    test('every log record lands with severity, body, attributes and trace context', async () => {
      const service_name = `agent-logs-${transport.replace('/', '-')}`;
      const captured: ReadableLogRecord[] = [];
      const provider = new LoggerProvider({
        resource: resourceFromAttributes({ 'service.name': service_name }),
        processors: [
          new SimpleLogRecordProcessor({ exporter: logExporter(transport) }),
          { onEmit: (r: ReadableLogRecord) => void captured.push(r), forceFlush: async () => {}, shutdown: async () => {} },
        ],
      });
      const logger = provider.getLogger('agent-logger', '0.9.0');
      logger.emit({ severityNumber: SeverityNumber.WARN, severityText: 'WARN', body: 'prompt rejected by guardrail', attributes: { 'gen_ai.operation.name': 'chat', tokens: 42 } });
      logger.emit({ severityNumber: SeverityNumber.INFO, severityText: 'INFO', body: { tool: 'search', args: { q: 'weather' } } as never, eventName: 'gen_ai.tool.message' });
      await provider.forceFlush();
      await provider.shutdown();
      await service.flush();

      const got = await rows<Record<string, unknown>>(
        `SELECT *, toString(toUnixTimestamp64Nano(Timestamp)) AS Ts FROM otel_logs WHERE ServiceName = '${service_name}' ORDER BY SeverityNumber DESC`,
      );
      assert.equal(got.length, 2);
      const [warn, info] = got as [Record<string, any>, Record<string, any>];
      assert.equal(warn.SeverityText, 'WARN');
      assert.equal(warn.SeverityNumber, SeverityNumber.WARN);
      assert.equal(warn.Body, 'prompt rejected by guardrail');
      assert.deepEqual({ ...warn.LogAttributes }, { 'gen_ai.operation.name': 'chat', tokens: '42' });
      assert.equal(warn.ScopeName, 'agent-logger');
      assert.equal(warn.ScopeVersion, '0.9.0');
      const rec = captured.find((r) => r.severityText === 'WARN')!;
      assert.equal(warn.Ts, String(BigInt(rec.hrTime[0]) * 1_000_000_000n + BigInt(rec.hrTime[1])));
      assert.deepEqual(JSON.parse(info.Body as string), { tool: 'search', args: { q: 'weather' } });
      assert.equal(info.EventName, 'gen_ai.tool.message');
    });
  });
}

test('the admin port reports ready and counts what was received and exported', async () => {
  const health = await fetch(`http://127.0.0.1:${service.ports.admin}/healthz`);
  assert.equal(health.status, 200);
  const metrics = await (await fetch(`http://127.0.0.1:${service.ports.admin}/metrics`)).text();
  assert.match(metrics, /sluice_receiver_accepted_items_total\{receiver="otlp",transport="grpc",signal="traces"\} [1-9]/);
  assert.match(metrics, /sluice_exporter_sent_items_total\{exporter="clickhouse",signal="logs"\} [1-9]/);
});
