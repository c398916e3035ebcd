// The protobuf encoder: model → bytes → model is the identity (for SDK
// telemetry and for random models), the bytes read back through an independent
// reflection codec (protobufjs on the OTLP .proto), and export responses are
// what the OTel JS exporters parse.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import fc from 'fast-check';
import protobuf from 'protobufjs';
import { ProtobufLogsSerializer, ProtobufTraceSerializer } from '@opentelemetry/otlp-transformer';
import { encodeExportResponse, encodeLogs, encodeTraces } from '../../pipeline/otlp/encode-protobuf.js';
import { decodeLogs, decodeTraces } from '../../pipeline/otlp/decode-protobuf.js';
import type { AnyValue, KeyValue, LogBatch, LogRecord, Span, TraceBatch } from '../../pipeline/model.js';
import { makeLogs, makeSpans, serializeLogsProto, serializeTracesProto } from './otlp-fixtures.js';

const root = protobuf.parse(readFileSync(new URL('../../pipeline/otlp/testdata/otlp.proto', import.meta.url), 'utf8'), { keepCase: true }).root;
const TraceRequest = root.lookupType('otlp.ExportTraceServiceRequest');
const LogsRequest = root.lookupType('otlp.ExportLogsServiceRequest');
const TraceResponse = root.lookupType('otlp.ExportTraceServiceResponse');
const LogsResponse = root.lookupType('otlp.ExportLogsServiceResponse');
const toObject = (t: protobuf.Type, b: Uint8Array) => t.toObject(t.decode(b), { longs: String, bytes: String, defaults: false }) as Record<string, any>;

test('SDK spans: decode → encode → decode is the identity', async () => {
  const first = decodeTraces(serializeTracesProto(await makeSpans()));
  const again = decodeTraces(encodeTraces(first.batch));
  assert.equal(again.rejected, 0);
  assert.deepStrictEqual(again.batch, first.batch);
});

test('SDK logs: decode → encode → decode is the identity', async () => {
  const first = decodeLogs(serializeLogsProto(await makeLogs()));
  const again = decodeLogs(encodeLogs(first.batch));
  assert.deepStrictEqual(again.batch, first.batch);
});

test('encoded spans read back through protobufjs reflection with the OTLP field numbers', async () => {
  const batch = decodeTraces(serializeTracesProto(await makeSpans())).batch;
  const msg = toObject(TraceRequest, encodeTraces(batch));
  const span = msg['resource_spans'][0]['scope_spans'][0]['spans'].find((s: any) => s.name === 'invoke_agent');
  const model = batch.resourceSpans[0]!.scopeSpans[0]!.spans.find((s) => s.name === 'invoke_agent')!;
  assert.equal(Buffer.from(span.trace_id, 'base64').toString('hex'), model.traceId);
  assert.equal(Buffer.from(span.span_id, 'base64').toString('hex'), model.spanId);
  assert.equal(span.kind, 2);
  assert.equal(span.flags, model.flags);
  assert.equal(span.start_time_unix_nano, model.startTimeUnixNano.toString());
  assert.equal(span.end_time_unix_nano, model.endTimeUnixNano.toString());
  assert.deepEqual(span.status, { message: 'tool failed', code: 2 });
  assert.equal(span.events[0].name, 'tool.call');
  assert.equal(span.links[0].flags, 0x301);
  const attrs = Object.fromEntries(span.attributes.map((kv: any) => [kv.key, kv.value]));
  assert.deepEqual(attrs['negative.int'], { int_value: '-5' });
  assert.deepEqual(attrs['gen_ai.temperature'], { double_value: 0.25 });
  assert.deepEqual(attrs['tool.approved'], { bool_value: false });
  assert.deepEqual(attrs['tool.args'], { array_value: { values: [{ string_value: '--force' }, { string_value: 'prod' }] } });
  assert.equal(msg['resource_spans'][0]['resource']['attributes'][0].value.string_value, 'agent-7');
});

test('encoded logs read back through protobufjs reflection', async () => {
  const batch = decodeLogs(serializeLogsProto(await makeLogs())).batch;
  const msg = toObject(LogsRequest, encodeLogs(batch));
  const records = msg['resource_logs'][0]['scope_logs'][0]['log_records'];
  assert.equal(records.length, 8);
  assert.equal(records[0].event_name, 'agent.tool_call');
  assert.equal(records[0].severity_number, 13);
  assert.equal(records[0].flags, 1);
  assert.deepEqual(records[0].body, { string_value: 'plain text body' });
  assert.deepEqual(records[5].body, { bytes_value: Buffer.from([0, 1, 2, 250, 255]).toString('base64') });
  assert.equal(records[7].body.kvlist_value.values[0].key, 'user');
});

test('empty strings and other defaults inside AnyValue keep their type', () => {
  const values: AnyValue[] = ['', false, 0n, 0, -0, new Uint8Array(0), [], { kvlist: [] }, null, [null, ''], { kvlist: [{ key: '', value: null }] }];
  const batch: TraceBatch = {
    signal: 'traces',
    resourceSpans: [
      {
        resource: { attributes: values.map((value, i) => ({ key: `k${i}`, value })), droppedAttributesCount: 0 },
        scopeSpans: [],
        schemaUrl: '',
      },
    ],
  };
  assert.deepStrictEqual(decodeTraces(encodeTraces(batch)).batch, batch);
});

test('large messages (multi-byte lengths at every level) round-trip', () => {
  const big = 'x'.repeat(300_000);
  const span = randomishSpan(big);
  const batch: TraceBatch = {
    signal: 'traces',
    resourceSpans: [{ resource: { attributes: [], droppedAttributesCount: 0 }, scopeSpans: [{ scope: { name: big.slice(0, 200), version: '', attributes: [], droppedAttributesCount: 0 }, spans: [span, span], schemaUrl: '' }], schemaUrl: '' }],
  };
  const bytes = encodeTraces(batch);
  assert.ok(bytes.length > 600_000, 'the batch needs multi-byte lengths');
  assert.deepStrictEqual(decodeTraces(bytes).batch, batch);
  // The scratch buffer is reused: a later small batch is not polluted by the big one.
  const small: TraceBatch = { signal: 'traces', resourceSpans: [] };
  assert.equal(encodeTraces(small).length, 0);
});

function randomishSpan(text: string): Span {
  return {
    traceId: '0123456789abcdef0123456789abcdef',
    spanId: '0123456789abcdef',
    parentSpanId: '',
    traceState: '',
    flags: 1,
    name: 'n',
    kind: 1,
    startTimeUnixNano: 1n,
    endTimeUnixNano: 2n,
    attributes: [{ key: 'prompt', value: text }, { key: 'nested', value: [[text.slice(0, 1000)], { kvlist: [{ key: 'k', value: text.slice(0, 200) }] }] }],
    droppedAttributesCount: 0,
    events: [],
    droppedEventsCount: 0,
    links: [],
    droppedLinksCount: 0,
    status: { code: 0, message: '' },
  };
}

test('an id that is not hex is refused with an error naming the field, not the value', () => {
  const span = { ...randomishSpan(''), traceId: 'zz'.repeat(16) };
  const batch: TraceBatch = { signal: 'traces', resourceSpans: [{ resource: { attributes: [], droppedAttributesCount: 0 }, scopeSpans: [{ scope: { name: '', version: '', attributes: [], droppedAttributesCount: 0 }, spans: [span], schemaUrl: '' }], schemaUrl: '' }] };
  assert.throws(() => encodeTraces(batch), /span trace_id.*not hex/);
});

test('export responses: empty on full success, partial_success otherwise; the OTel exporters parse them', () => {
  assert.equal(encodeExportResponse('traces', { rejected: 0, errorMessage: '' }, 'protobuf').length, 0);
  assert.equal(encodeExportResponse('logs', { rejected: 0, errorMessage: '' }, 'json'), '{}');

  const tp = encodeExportResponse('traces', { rejected: 3, errorMessage: 'rejected 3 malformed span(s)' }, 'protobuf');
  assert.deepEqual(toObject(TraceResponse, tp), { partial_success: { rejected_spans: '3', error_message: 'rejected 3 malformed span(s)' } });
  const sdkView = ProtobufTraceSerializer.deserializeResponse(tp);
  assert.equal(Number(sdkView.partialSuccess?.rejectedSpans), 3);
  assert.equal(sdkView.partialSuccess?.errorMessage, 'rejected 3 malformed span(s)');

  const lp = encodeExportResponse('logs', { rejected: 200, errorMessage: 'é' }, 'protobuf');
  assert.deepEqual(toObject(LogsResponse, lp), { partial_success: { rejected_log_records: '200', error_message: 'é' } });
  const sdkLogs = ProtobufLogsSerializer.deserializeResponse(lp);
  assert.equal(Number(sdkLogs.partialSuccess?.rejectedLogRecords), 200);

  assert.deepEqual(JSON.parse(encodeExportResponse('traces', { rejected: 2, errorMessage: 'x' }, 'json')), { partialSuccess: { rejectedSpans: '2', errorMessage: 'x' } });
  assert.deepEqual(JSON.parse(encodeExportResponse('logs', { rejected: 1, errorMessage: '' }, 'json')), { partialSuccess: { rejectedLogRecords: '1' } });
  // A warning with nothing rejected is still a partial_success (the spec allows it).
  assert.deepEqual(toObject(TraceResponse, encodeExportResponse('traces', { rejected: 0, errorMessage: 'w' }, 'protobuf')), { partial_success: { error_message: 'w' } });
});

// ---------------------------------------------------------------------------
// Random models round-trip.

// fc.record may build null-prototype objects; the decoder makes plain ones.
function rec<T extends object>(shape: { [K in keyof T]: fc.Arbitrary<T[K]> }): fc.Arbitrary<T> {
  return fc.record(shape).map((o) => ({ ...o }) as T);
}
const hex = (bytes: number) => fc.uint8Array({ minLength: bytes, maxLength: bytes }).map((b) => Buffer.from(b).toString('hex'));
const nonZeroHex = (bytes: number) => hex(bytes).filter((h) => /[^0]/.test(h));
const text = fc.string({ unit: 'binary', maxLength: 40 });
const u32 = fc.nat({ max: 0xffffffff });
const u64 = fc.bigInt({ min: 0n, max: 2n ** 64n - 1n });
const { anyValue } = fc.letrec<{ anyValue: AnyValue }>((tie) => ({
  anyValue: fc.oneof(
    { depthSize: 'small', withCrossShrink: true },
    text,
    fc.boolean(),
    fc.bigInt({ min: -(2n ** 63n), max: 2n ** 63n - 1n }),
    fc.double(),
    fc.uint8Array({ maxLength: 20 }),
    fc.constant(null),
    fc.array(tie('anyValue') as fc.Arbitrary<AnyValue>, { maxLength: 4 }),
    fc.array(rec<KeyValue>({ key: text, value: tie('anyValue') as fc.Arbitrary<AnyValue> }), { maxLength: 4 }).map((kvlist) => ({ kvlist })),
  ),
}));
const attrs = fc.array(rec<KeyValue>({ key: text, value: anyValue }), { maxLength: 5 });
const resource = rec({ attributes: attrs, droppedAttributesCount: u32 });
const scope = rec({ name: text, version: text, attributes: attrs, droppedAttributesCount: u32 });
const span: fc.Arbitrary<Span> = rec({
  traceId: nonZeroHex(16),
  spanId: nonZeroHex(8),
  parentSpanId: fc.oneof(fc.constant(''), nonZeroHex(8)),
  traceState: text,
  flags: u32,
  name: text,
  kind: fc.integer({ min: 0, max: 5 }),
  startTimeUnixNano: u64,
  endTimeUnixNano: u64,
  attributes: attrs,
  droppedAttributesCount: u32,
  events: fc.array(rec({ timeUnixNano: u64, name: text, attributes: attrs, droppedAttributesCount: u32 }), { maxLength: 3 }),
  droppedEventsCount: u32,
  links: fc.array(rec({ traceId: nonZeroHex(16), spanId: nonZeroHex(8), traceState: text, attributes: attrs, droppedAttributesCount: u32, flags: u32 }), { maxLength: 3 }),
  droppedLinksCount: u32,
  status: rec({ code: fc.integer({ min: 0, max: 2 }), message: text }),
});
const record: fc.Arbitrary<LogRecord> = rec({
  timeUnixNano: u64,
  observedTimeUnixNano: u64,
  severityNumber: fc.integer({ min: 0, max: 24 }),
  severityText: text,
  body: anyValue,
  attributes: attrs,
  droppedAttributesCount: u32,
  flags: u32,
  traceId: fc.oneof(fc.constant(''), nonZeroHex(16)),
  spanId: fc.oneof(fc.constant(''), nonZeroHex(8)),
  eventName: text,
});
const traceBatch: fc.Arbitrary<TraceBatch> = fc
  .array(rec({ resource, scopeSpans: fc.array(rec({ scope, spans: fc.array(span, { maxLength: 3 }), schemaUrl: text }), { maxLength: 2 }), schemaUrl: text }), { maxLength: 2 })
  .map((resourceSpans) => ({ signal: 'traces', resourceSpans }));
const logBatch: fc.Arbitrary<LogBatch> = fc
  .array(rec({ resource, scopeLogs: fc.array(rec({ scope, logRecords: fc.array(record, { maxLength: 3 }), schemaUrl: text }), { maxLength: 2 }), schemaUrl: text }), { maxLength: 2 })
  .map((resourceLogs) => ({ signal: 'logs', resourceLogs }));

test('property: any valid trace batch round-trips through encode → decode', () => {
  fc.assert(
    fc.property(traceBatch, (batch) => {
      const r = decodeTraces(encodeTraces(batch));
      assert.equal(r.rejected, 0);
      assert.deepStrictEqual(r.batch, batch);
    }),
    { numRuns: 200 },
  );
});

test('property: any valid log batch round-trips through encode → decode', () => {
  fc.assert(
    fc.property(logBatch, (batch) => {
      const r = decodeLogs(encodeLogs(batch));
      assert.equal(r.rejected, 0);
      assert.deepStrictEqual(r.batch, batch);
    }),
    { numRuns: 200 },
  );
});

