// The protobuf decoder against what the real OpenTelemetry JS SDK and its
// otlp-transformer put on the wire, then against broken input.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { ReadableSpan } from '@opentelemetry/sdk-trace-base';
import { decodeLogs, decodeTraces } from '../../pipeline/otlp/decode-protobuf.js';
import { OtlpDecodeError } from '../../pipeline/otlp/errors.js';
import { countItems, type KeyValue, type Span } from '../../pipeline/model.js';
import {
  END,
  EVENT_TIME,
  LINK_SPAN_ID,
  LINK_TRACE_ID,
  LOG_SPAN_ID,
  LOG_TRACE_ID,
  SCOPE,
  START,
  makeLogs,
  makeSpans,
  nanos,
  serializeLogsProto,
  serializeTracesProto,
} from './otlp-fixtures.js';

/** A span seen through a prototype, with some properties replaced. */
function variant(span: ReadableSpan, over: Partial<Record<keyof ReadableSpan, unknown>>): ReadableSpan {
  const v = Object.create(span) as ReadableSpan;
  for (const [k, val] of Object.entries(over)) Object.defineProperty(v, k, { value: val, enumerable: true });
  return v;
}

function withIds(span: ReadableSpan, traceId: string, spanId: string): ReadableSpan {
  const ctx = { ...span.spanContext(), traceId, spanId };
  return variant(span, { spanContext: () => ctx });
}

// Wire helpers for hand-built broken input.
function varint(n: number): number[] {
  const out: number[] = [];
  while (n > 0x7f) {
    out.push((n & 0x7f) | 0x80);
    n = Math.floor(n / 128);
  }
  out.push(n);
  return out;
}
const key = (field: number, wt: number) => varint(field * 8 + wt);
const ld = (field: number, body: number[] | Uint8Array) => [...key(field, 2), ...varint(body.length), ...body];
const str = (field: number, s: string) => ld(field, [...Buffer.from(s)]);
const bytes = (...parts: number[][]) => new Uint8Array(parts.flat());
const TRACE = Array.from({ length: 16 }, (_, i) => i + 1);
const SPAN = Array.from({ length: 8 }, (_, i) => i + 0xa0);
/** A minimal valid span body with extra fields appended. */
const spanBody = (...extra: number[][]) => [...ld(1, TRACE), ...ld(2, SPAN), ...str(5, 'op'), ...extra.flat()];
const traces = (...spans: number[][]) => bytes(ld(1, ld(2, spans.flatMap((s) => ld(2, s)))));

test('a real SDK trace export decodes to the exact model', async () => {
  const spans = await makeSpans();
  const root = spans.find((s) => s.name === 'invoke_agent')!;
  const child = spans.find((s) => s.name === 'execute_tool')!;
  // The OTel API has no bytes attribute, but other SDKs send them; the JS serializer writes them as bytes_value.
  const rootWithBytes = variant(root, { attributes: { ...root.attributes, 'payload.bytes': new Uint8Array([0, 255, 16]) } });
  const { batch, accepted, rejected, errors } = decodeTraces(serializeTracesProto([child, rootWithBytes]));
  assert.equal(accepted, 2);
  assert.equal(rejected, 0);
  assert.deepEqual(errors, []);
  assert.equal(countItems(batch), 2);
  assert.equal(batch.resourceSpans.length, 1);
  const rs = batch.resourceSpans[0]!;
  assert.deepEqual(rs.resource, {
    attributes: [
      { key: 'service.name', value: 'agent-7' },
      { key: 'deployment.replicas', value: 3n },
      { key: 'agent.enabled', value: true },
    ],
    droppedAttributesCount: 0,
  });
  assert.equal(rs.scopeSpans.length, 1);
  const ss = rs.scopeSpans[0]!;
  assert.deepEqual(ss.scope, { name: SCOPE.name, version: SCOPE.version, attributes: [], droppedAttributesCount: 0 });
  assert.equal(ss.schemaUrl, SCOPE.schemaUrl);
  const [gotChild, gotRoot] = ss.spans as [Span, Span];

  const expectedRoot: Span = {
    traceId: root.spanContext().traceId,
    spanId: root.spanContext().spanId,
    parentSpanId: '',
    traceState: '',
    flags: 0x101, // sampled | "has is_remote" (local parent)
    name: 'invoke_agent',
    kind: 2,
    startTimeUnixNano: nanos(START),
    endTimeUnixNano: nanos(END),
    attributes: [
      { key: 'gen_ai.prompt', value: 'Summarise the Q3 report for ünïcødé 🚀' },
      { key: 'gen_ai.usage.input_tokens', value: 1234n },
      { key: 'big.int', value: 2n ** 60n },
      { key: 'negative.int', value: -5n },
      { key: 'gen_ai.temperature', value: 0.25 },
      { key: 'tool.approved', value: false },
      { key: 'tool.args', value: ['--force', 'prod'] },
      { key: 'tool.ids', value: [1n, 2n, 3n] },
      { key: 'tool.weights', value: [0.5, 1.5] },
      { key: 'tool.flags', value: [true, false] },
      { key: 'payload.bytes', value: new Uint8Array([0, 255, 16]) },
    ],
    droppedAttributesCount: 0,
    events: [
      {
        timeUnixNano: nanos(EVENT_TIME),
        name: 'tool.call',
        attributes: [
          { key: 'tool.name', value: 'export_table' },
          { key: 'rows', value: 10n },
        ],
        droppedAttributesCount: 0,
      },
    ],
    droppedEventsCount: 0,
    links: [
      {
        traceId: LINK_TRACE_ID,
        spanId: LINK_SPAN_ID,
        traceState: '',
        attributes: [
          { key: 'link.reason', value: 'retry' },
          { key: 'link.attempt', value: 2n },
        ],
        droppedAttributesCount: 0,
        flags: 0x301, // sampled | has is_remote | is_remote
      },
    ],
    droppedLinksCount: 0,
    status: { code: 2, message: 'tool failed' },
  };
  assert.deepStrictEqual(gotRoot, expectedRoot);
  assert.ok(Object.getPrototypeOf(gotRoot.attributes[10]!.value) === Uint8Array.prototype, 'bytes are a plain Uint8Array');

  assert.equal(gotChild.traceId, root.spanContext().traceId);
  assert.equal(gotChild.spanId, child.spanContext().spanId);
  assert.equal(gotChild.parentSpanId, root.spanContext().spanId);
  assert.equal(gotChild.kind, 3);
  assert.deepEqual(gotChild.status, { code: 1, message: '' });
  assert.match(gotChild.traceId, /^[0-9a-f]{32}$/);
  assert.match(gotChild.spanId, /^[0-9a-f]{16}$/);
});

test('a real SDK log export decodes every body kind, severity, trace context and event name', async () => {
  const logs = await makeLogs();
  const { batch, accepted, rejected } = decodeLogs(serializeLogsProto(logs));
  assert.equal(accepted, 8);
  assert.equal(rejected, 0);
  const rl = batch.resourceLogs[0]!;
  assert.deepEqual(rl.resource.attributes[0], { key: 'service.name', value: 'agent-7' });
  const sl = rl.scopeLogs[0]!;
  assert.equal(sl.scope.name, SCOPE.name);
  assert.equal(sl.scope.version, SCOPE.version);
  assert.equal(sl.schemaUrl, SCOPE.schemaUrl);
  const records = sl.logRecords;
  assert.deepStrictEqual(
    records.map((r) => r.body),
    [
      'plain text body',
      true,
      42n,
      -7n,
      3.5,
      new Uint8Array([0, 1, 2, 250, 255]),
      ['a', 1n, 2.5, false, new Uint8Array([9])],
      {
        kvlist: [
          { key: 'user', value: 'jane' },
          {
            key: 'nested',
            value: {
              kvlist: [
                { key: 'depth', value: 2n },
                { key: 'list', value: [1n, 'two'] },
              ],
            },
          },
        ],
      },
    ],
  );
  const first = records[0]!;
  assert.deepStrictEqual(first, {
    timeUnixNano: nanos(START),
    observedTimeUnixNano: nanos(END),
    severityNumber: 13,
    severityText: 'WARN',
    body: 'plain text body',
    attributes: [
      { key: 'log.index', value: 0n },
      { key: 'log.kind', value: 'string' },
      { key: 'log.bytes', value: new Uint8Array([7, 7]) },
      { key: 'log.map', value: { kvlist: [{ key: 'a', value: 1n }] } },
    ] satisfies KeyValue[],
    droppedAttributesCount: 0,
    flags: 1,
    traceId: LOG_TRACE_ID,
    spanId: LOG_SPAN_ID,
    eventName: 'agent.tool_call',
  });
  assert.equal(records[1]!.traceId, '');
  assert.equal(records[1]!.spanId, '');
  assert.equal(records[1]!.eventName, '');
});

test('one malformed span is rejected with a reason; the others land', async () => {
  const spans = await makeSpans();
  const [a, b] = spans as [ReadableSpan, ReadableSpan];
  const shortTrace = withIds(a, 'ab'.repeat(15), 'cd'.repeat(8)); // 15-byte trace id
  const zeroSpan = withIds(a, 'ab'.repeat(16), '0'.repeat(16));
  const buf = serializeTracesProto([a, shortTrace, b, zeroSpan]);
  const { batch, accepted, rejected, errors } = decodeTraces(buf);
  assert.equal(accepted, 2);
  assert.equal(rejected, 2);
  assert.equal(countItems(batch), 2);
  assert.deepEqual(
    batch.resourceSpans[0]!.scopeSpans[0]!.spans.map((s) => s.spanId),
    [a.spanContext().spanId, b.spanContext().spanId],
  );
  assert.equal(errors.length, 2);
  assert.match(errors[0]!, /spans\[1\]: trace_id must be 16 bytes, got 15/);
  assert.match(errors[1]!, /spans\[3\]: span_id is all zeros/);
});

test('span id rules: required, sized, non-zero; parent and link ids checked too', () => {
  const cases: Array<[number[], RegExp]> = [
    [[...ld(2, SPAN), ...str(5, 'op')], /trace_id is missing/],
    [[...ld(1, TRACE), ...str(5, 'op')], /span_id is missing/],
    [[...ld(1, new Array(16).fill(0)), ...ld(2, SPAN)], /trace_id is all zeros/],
    [[...ld(1, TRACE), ...ld(2, [1, 2, 3])], /span_id must be 8 bytes, got 3/],
    [spanBody(ld(4, [1, 2, 3, 4])), /parent_span_id must be 8 bytes, got 4/],
    [spanBody(ld(13, [...ld(1, TRACE), ...ld(2, [1])])), /links.span_id must be 8 bytes/],
    [spanBody(ld(13, [...ld(2, SPAN)])), /links.trace_id is missing or all zeros/],
  ];
  for (const [body, reason] of cases) {
    const r = decodeTraces(traces(spanBody(), body));
    assert.equal(r.accepted, 1);
    assert.equal(r.rejected, 1);
    assert.match(r.errors[0]!, reason);
  }
  // An all-zero parent is "no parent".
  const r = decodeTraces(traces(spanBody(ld(4, new Array(8).fill(0)))));
  assert.equal(r.batch.resourceSpans[0]!.scopeSpans[0]!.spans[0]!.parentSpanId, '');
});

test('log ids may be absent but not mis-sized', () => {
  const record = (...f: number[][]) => ld(2, f.flat());
  const logs = (...records: number[][]) => bytes(ld(1, ld(2, records.flat())));
  const r = decodeLogs(logs(record(str(3, 'INFO')), record(ld(9, [1, 2, 3])), record(ld(10, TRACE)), record(ld(9, TRACE), ld(10, SPAN))));
  assert.equal(r.accepted, 2);
  assert.equal(r.rejected, 2);
  assert.match(r.errors[0]!, /log_records\[1\]: trace_id must be 16 bytes, got 3/);
  assert.match(r.errors[1]!, /log_records\[2\]: span_id must be 8 bytes, got 16/);
  const [plain, linked] = r.batch.resourceLogs[0]!.scopeLogs[0]!.logRecords;
  assert.equal(plain!.traceId, '');
  assert.equal(linked!.traceId, Buffer.from(TRACE).toString('hex'));
  assert.equal(linked!.spanId, Buffer.from(SPAN).toString('hex'));
});

test('a wrong wire type or a truncation inside a span rejects that span only', () => {
  const bad: number[][] = [
    spanBody(key(5, 0), [1]), // name as a varint
    spanBody(key(7, 2), [0]), // start time as bytes
    spanBody(key(16, 0), [1]), // flags as varint instead of fixed32
    spanBody(key(9, 2), [5, ...key(1, 2), 9]), // attribute whose key overruns the attribute
    spanBody(key(8, 1), [1, 2, 3]), // fixed64 cut short
    spanBody(key(20, 3)), // group wire type
    spanBody(key(20, 7)), // no such wire type
    spanBody([0]), // field number 0
    spanBody(key(6, 0), [0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x01]), // 11-byte varint
  ];
  for (const b of bad) {
    const r = decodeTraces(traces(spanBody(), b, spanBody()));
    assert.equal(r.accepted, 2, `kept the good spans around ${Buffer.from(b).toString('hex')}`);
    assert.equal(r.rejected, 1);
    assert.equal(r.errors.length, 1);
  }
});

test('unknown fields of every wire type are skipped (forward compatibility)', () => {
  const unknown = [
    ...key(99, 0), ...varint(300),
    ...key(98, 1), 1, 2, 3, 4, 5, 6, 7, 8,
    ...ld(97, [1, 2, 3]),
    ...key(96, 5), 1, 2, 3, 4,
  ];
  const req = bytes(unknown, ld(1, [...unknown, ...ld(2, [...unknown, ...ld(2, spanBody(unknown, ld(15, [...unknown, ...key(3, 0), 2])))])]));
  const r = decodeTraces(req);
  assert.equal(r.accepted, 1);
  assert.equal(r.rejected, 0);
  const s = r.batch.resourceSpans[0]!.scopeSpans[0]!.spans[0]!;
  assert.equal(s.name, 'op');
  assert.equal(s.status.code, 2);
});

test('out-of-range enums read as 0, negative int64 values and max fixed64 survive', () => {
  const minus1 = [0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x01];
  const anyInt = (v: number[]) => ld(9, [...str(1, 'k'), ...ld(2, [...key(3, 0), ...v])]);
  const r = decodeTraces(traces(spanBody(key(6, 0), [9], anyInt(minus1), key(7, 1), new Array(8).fill(0xff), ld(15, [...key(3, 0), 7]))));
  const s = r.batch.resourceSpans[0]!.scopeSpans[0]!.spans[0]!;
  assert.equal(s.kind, 0);
  assert.equal(s.status.code, 0);
  assert.equal(s.attributes[0]!.value, -1n);
  assert.equal(s.startTimeUnixNano, 2n ** 64n - 1n);
  const min = [0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x01];
  const r2 = decodeTraces(traces(spanBody(anyInt(min))));
  assert.equal(r2.batch.resourceSpans[0]!.scopeSpans[0]!.spans[0]!.attributes[0]!.value, -(2n ** 63n));
});

test('invalid UTF-8 becomes U+FFFD and the item is kept', () => {
  const r = decodeTraces(traces([...ld(1, TRACE), ...ld(2, SPAN), ...ld(5, [0x61, 0xff, 0xfe, 0x62])]));
  assert.equal(r.accepted, 1);
  assert.equal(r.batch.resourceSpans[0]!.scopeSpans[0]!.spans[0]!.name, 'a\ufffd\ufffdb');
});

test('bytes values are copies, not views of the request buffer', () => {
  const req = traces(spanBody(ld(9, [...str(1, 'b'), ...ld(2, ld(7, [1, 2, 3]))])));
  const r = decodeTraces(req);
  const v = r.batch.resourceSpans[0]!.scopeSpans[0]!.spans[0]!.attributes[0]!.value as Uint8Array;
  assert.deepEqual([...v], [1, 2, 3]);
  req.fill(0);
  assert.deepEqual([...v], [1, 2, 3]);
  assert.notEqual(v.buffer, req.buffer);
});

/** An AnyValue of `depth` nested arrays around a string, built inside out without re-copying. */
function nestedArray(depth: number): number[] {
  const leaf = str(1, 'leaf');
  const prefixes: number[][] = [];
  let size = leaf.length;
  for (let i = 0; i < depth; i++) {
    const values = [...key(1, 2), ...varint(size)];
    size += values.length;
    const array = [...key(5, 2), ...varint(size)];
    size += array.length;
    prefixes.push(values, array);
  }
  return [...prefixes.reverse().flat(), ...leaf];
}

test('values may nest 32 levels deep; deeper rejects the item, not the request', () => {
  const attr = (depth: number) => ld(9, [...str(1, 'deep'), ...ld(2, nestedArray(depth))]);
  const ok = decodeTraces(traces(spanBody(attr(32))));
  assert.equal(ok.accepted, 1);
  let v = ok.batch.resourceSpans[0]!.scopeSpans[0]!.spans[0]!.attributes[0]!.value;
  for (let i = 0; i < 32; i++) v = (v as unknown[])[0] as typeof v;
  assert.equal(v, 'leaf');
  const deep = decodeTraces(traces(spanBody(), spanBody(attr(33))));
  assert.equal(deep.accepted, 1);
  assert.equal(deep.rejected, 1);
  assert.match(deep.errors[0]!, /nest deeper than 32/);
  // Far deeper than any stack would allow if the decoder recursed without a limit.
  const huge = decodeTraces(traces(spanBody(attr(2_000))));
  assert.equal(huge.rejected, 1);
});

test('a malformed resource or scope rejects its group and counts its items', () => {
  const badAttrs = ld(1, [...key(1, 0), 5]); // KeyValue.key as a varint
  const group = (scopeBody: number[], n: number) => ld(2, [...ld(1, scopeBody), ...Array.from({ length: n }, () => ld(2, spanBody())).flat()]);
  const req = bytes(
    ld(1, [...ld(1, badAttrs), ...group([], 2)]), // bad resource: 2 spans lost
    ld(1, [...group([...key(3, 2), 2, ...key(1, 0), 1], 3), ...group(str(1, 'fine'), 1)]), // bad scope: 3 lost, 1 kept
  );
  const r = decodeTraces(req);
  assert.equal(r.rejected, 5);
  assert.equal(r.accepted, 1);
  assert.equal(r.batch.resourceSpans.length, 1);
  assert.equal(r.batch.resourceSpans[0]!.scopeSpans.length, 1);
  assert.equal(r.batch.resourceSpans[0]!.scopeSpans[0]!.scope.name, 'fine');
  assert.match(r.errors[0]!, /resource_spans\[0\]\.resource: /);
  assert.match(r.errors[1]!, /resource_spans\[1\]\.scope_spans\[0\]\.scope: /);
});

test('groups emptied by rejection are dropped; groups that were empty stay', () => {
  const r = decodeTraces(bytes(ld(1, [...ld(2, ld(2, [...ld(2, SPAN)])), ...ld(2, str(3, 'url'))])));
  assert.equal(r.rejected, 1);
  assert.equal(r.batch.resourceSpans[0]!.scopeSpans.length, 1);
  assert.equal(r.batch.resourceSpans[0]!.scopeSpans[0]!.schemaUrl, 'url');
  const all = decodeTraces(traces([...ld(2, SPAN)]));
  assert.deepEqual(all.batch.resourceSpans, []);
});

test('error reasons are capped at five and carry no payload values', () => {
  const secret = 'sk-live-SECRET';
  const badSpans = Array.from({ length: 9 }, () => [...ld(1, [1, 2]), ...str(5, secret)]);
  const r = decodeTraces(traces(...badSpans));
  assert.equal(r.rejected, 9);
  assert.equal(r.errors.length, 5);
  for (const e of r.errors) assert.ok(!e.includes(secret), 'no payload value in the reason');
});

test('a broken envelope fails the whole request with OtlpDecodeError', async () => {
  const good = serializeTracesProto(await makeSpans());
  const cases: Array<[Uint8Array, RegExp]> = [
    [good.subarray(0, good.length - 3), /overruns|truncated/],
    [bytes(key(1, 2), varint(2 ** 31)), /overruns/],
    [bytes(key(1, 2), [0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x7f]), /overruns/],
    [bytes(key(1, 0), [1]), /resource_spans has wire type 0/],
    [bytes(ld(1, [...key(2, 2), 10, 1, 2])), /overruns/], // scope_spans longer than its resource_spans
    [bytes(ld(1, ld(2, [...key(2, 2), 50, ...spanBody()]))), /overruns/], // a span longer than its scope
    [bytes([0x0a]), /truncated/],
    [bytes([0x80]), /truncated/],
  ];
  for (const [buf, reason] of cases) {
    assert.throws(() => decodeTraces(buf), (e: unknown) => e instanceof OtlpDecodeError && reason.test(e.message));
    assert.throws(() => decodeLogs(buf), OtlpDecodeError);
  }
  assert.throws(() => decodeTraces('not bytes' as unknown as Uint8Array), OtlpDecodeError);
});

test('an empty request is an empty batch', () => {
  assert.deepEqual(decodeTraces(new Uint8Array(0)), { batch: { signal: 'traces', resourceSpans: [] }, accepted: 0, rejected: 0, errors: [] });
  assert.deepEqual(decodeLogs(new Uint8Array(0)), { batch: { signal: 'logs', resourceLogs: [] }, accepted: 0, rejected: 0, errors: [] });
});

test('a Buffer that is a slice of a larger pool decodes from its own bytes only', async () => {
  const good = serializeTracesProto(await makeSpans());
  const pool = Buffer.alloc(good.length + 100, 0xff);
  pool.set(good, 50);
  const r = decodeTraces(pool.subarray(50, 50 + good.length));
  assert.equal(r.accepted, 2);
});

test('a broken resource with no spans loses nothing and reports nothing', () => {
  const r = decodeTraces(bytes(ld(1, ld(1, ld(1, [...key(1, 0), 5])))));
  assert.deepEqual({ accepted: r.accepted, rejected: r.rejected, errors: r.errors }, { accepted: 0, rejected: 0, errors: [] });
});
