// Telemetry made by the real OpenTelemetry JS SDKs and serialised by the real
// @opentelemetry/otlp-transformer, for the OTLP codec tests: the decoders are
// judged against what agents actually send, not against payloads written by
// the same hand that wrote the decoder.
import { SpanKind, SpanStatusCode, context, trace, TraceFlags, type Link } from '@opentelemetry/api';
import { SeverityNumber } from '@opentelemetry/api-logs';
import { resourceFromAttributes } from '@opentelemetry/resources';
import { BasicTracerProvider, InMemorySpanExporter, SimpleSpanProcessor, type ReadableSpan } from '@opentelemetry/sdk-trace-base';
import { InMemoryLogRecordExporter, LoggerProvider, SimpleLogRecordProcessor, type ReadableLogRecord } from '@opentelemetry/sdk-logs';
import { JsonLogsSerializer, JsonTraceSerializer, ProtobufLogsSerializer, ProtobufTraceSerializer } from '@opentelemetry/otlp-transformer';

export const RESOURCE_ATTRS = { 'service.name': 'agent-7', 'deployment.replicas': 3, 'agent.enabled': true };
export const SCOPE = { name: 'sluice-test', version: '1.2.3', schemaUrl: 'https://opentelemetry.io/schemas/1.27.0' };

/** Span attributes of every type the OTel API allows. */
export const SPAN_ATTRS = {
  'gen_ai.prompt': 'Summarise the Q3 report for ünïcødé 🚀',
  'gen_ai.usage.input_tokens': 1234,
  'big.int': 2 ** 60,
  'negative.int': -5,
  'gen_ai.temperature': 0.25,
  'tool.approved': false,
  'tool.args': ['--force', 'prod'],
  'tool.ids': [1, 2, 3],
  'tool.weights': [0.5, 1.5],
  'tool.flags': [true, false],
};

export const LINK_TRACE_ID = '0af7651916cd43dd8448eb211c80319c';
export const LINK_SPAN_ID = 'b7ad6b7169203331';

// hrtime [seconds, nanoseconds] with nanosecond detail that a double of ms would lose.
export const START: [number, number] = [1_700_000_000, 123_456_789];
export const END: [number, number] = [1_700_000_001, 987_654_321];
export const EVENT_TIME: [number, number] = [1_700_000_000, 500_000_001];
export const nanos = (t: [number, number]) => BigInt(t[0]) * 1_000_000_000n + BigInt(t[1]);

/** A root SERVER span with everything set, and a CLIENT child. */
export async function makeSpans(): Promise<ReadableSpan[]> {
  const exporter = new InMemorySpanExporter();
  const provider = new BasicTracerProvider({
    resource: resourceFromAttributes(RESOURCE_ATTRS),
    spanProcessors: [new SimpleSpanProcessor(exporter)],
  });
  const tracer = provider.getTracer(SCOPE.name, SCOPE.version, { schemaUrl: SCOPE.schemaUrl });
  const link: Link = {
    context: { traceId: LINK_TRACE_ID, spanId: LINK_SPAN_ID, traceFlags: TraceFlags.SAMPLED, isRemote: true },
    attributes: { 'link.reason': 'retry', 'link.attempt': 2 },
  };
  const root = tracer.startSpan('invoke_agent', { kind: SpanKind.SERVER, startTime: START, attributes: SPAN_ATTRS, links: [link] });
  root.addEvent('tool.call', { 'tool.name': 'export_table', 'rows': 10 }, EVENT_TIME);
  root.setStatus({ code: SpanStatusCode.ERROR, message: 'tool failed' });
  const child = tracer.startSpan('execute_tool', { kind: SpanKind.CLIENT, startTime: START }, trace.setSpan(context.active(), root));
  child.setStatus({ code: SpanStatusCode.OK });
  child.end(END);
  root.end(END);
  await provider.forceFlush();
  const spans = exporter.getFinishedSpans();
  await provider.shutdown();
  return spans;
}

/** `count` spans shaped like an agent's tool call, with `promptBytes` of prompt text each. */
export async function makeAgentSpans(count: number, promptBytes: number): Promise<ReadableSpan[]> {
  const exporter = new InMemorySpanExporter();
  const provider = new BasicTracerProvider({
    resource: resourceFromAttributes(RESOURCE_ATTRS),
    spanProcessors: [new SimpleSpanProcessor(exporter)],
  });
  const tracer = provider.getTracer(SCOPE.name, SCOPE.version);
  const text = 'Please email jane.doe@example.com the invoice for order 4711 and rotate key sk-live-1234. '.repeat(Math.ceil(promptBytes / 90)).slice(0, promptBytes);
  for (let i = 0; i < count; i++) {
    const s = tracer.startSpan('execute_tool', {
      kind: SpanKind.CLIENT,
      attributes: {
        'gen_ai.operation.name': 'execute_tool',
        'gen_ai.system': 'openai',
        'gen_ai.request.model': 'gpt-4o',
        'gen_ai.prompt': text,
        'gen_ai.tool.name': 'send_email',
        'gen_ai.tool.call.arguments': JSON.stringify({ to: 'jane.doe@example.com', n: i }),
        'gen_ai.usage.input_tokens': 800 + i,
        'gen_ai.usage.output_tokens': 120,
        'gen_ai.request.temperature': 0.2,
      },
    });
    s.addEvent('gen_ai.choice', { 'gen_ai.response.finish_reason': 'tool_calls' });
    s.end();
  }
  await provider.forceFlush();
  const spans = exporter.getFinishedSpans();
  await provider.shutdown();
  return spans;
}

export const LOG_TRACE_ID = '4bf92f3577b34da6a3ce929d0e0e4736';
export const LOG_SPAN_ID = '00f067aa0ba902b7';

/** One log record per body kind, plus trace context, event name and attributes. */
export async function makeLogs(): Promise<ReadableLogRecord[]> {
  const exporter = new InMemoryLogRecordExporter();
  const provider = new LoggerProvider({
    resource: resourceFromAttributes(RESOURCE_ATTRS),
    processors: [new SimpleLogRecordProcessor({ exporter })],
  });
  const logger = provider.getLogger(SCOPE.name, SCOPE.version, { schemaUrl: SCOPE.schemaUrl });
  const ctx = trace.setSpanContext(context.active(), { traceId: LOG_TRACE_ID, spanId: LOG_SPAN_ID, traceFlags: TraceFlags.SAMPLED });
  const bodies = [
    'plain text body',
    true,
    42,
    -7,
    3.5,
    new Uint8Array([0, 1, 2, 250, 255]),
    ['a', 1, 2.5, false, new Uint8Array([9])],
    { user: 'jane', nested: { depth: 2, list: [1, 'two'] } },
  ];
  bodies.forEach((body, i) => {
    logger.emit({
      timestamp: START,
      observedTimestamp: END,
      severityNumber: SeverityNumber.WARN,
      severityText: 'WARN',
      body,
      attributes: { 'log.index': i, 'log.kind': typeof body, 'log.bytes': new Uint8Array([7, 7]), 'log.map': { a: 1 } },
      eventName: i === 0 ? 'agent.tool_call' : undefined,
      context: i === 0 ? ctx : undefined,
    });
  });
  await provider.forceFlush();
  const logs = exporter.getFinishedLogRecords();
  await provider.shutdown();
  return logs;
}

export const serializeTracesProto = (spans: ReadableSpan[]) => ProtobufTraceSerializer.serializeRequest(spans)!;
export const serializeTracesJson = (spans: ReadableSpan[]) => new TextDecoder().decode(JsonTraceSerializer.serializeRequest(spans)!);
export const serializeLogsProto = (logs: ReadableLogRecord[]) => ProtobufLogsSerializer.serializeRequest(logs)!;
export const serializeLogsJson = (logs: ReadableLogRecord[]) => new TextDecoder().decode(JsonLogsSerializer.serializeRequest(logs)!);
