// fast-check arbitraries for hostile OTLP input: valid payloads from the
// agent-traffic generator, then mutated the ways a broken or malicious
// client would (truncation, flipped bytes, wrong wire types, huge lengths,
// deep AnyValue nesting), and JSON with duplicate keys, NaN/Infinity, long
// strings and invalid UTF-8.
import fc from 'fast-check';
import { encodeTraces } from '../../pipeline/otlp/encode-protobuf.js';
import { agentSpans } from '../../bench/lib/agent-traffic.js';

/** A few distinct valid OTLP/protobuf trace requests (10 agent spans each). */
export const validTraceBodies: Buffer[] = Array.from({ length: 4 }, (_, i) => encodeTraces(agentSpans({ seed: 7, perRequest: 10 }, i)));

/** protobuf varint of n (up to 2^53). */
export function varint(n: number): Buffer {
  const out: number[] = [];
  let v = n;
  while (v >= 0x80) {
    out.push((v % 0x80) | 0x80);
    v = Math.floor(v / 0x80);
  }
  out.push(v);
  return Buffer.from(out);
}

type Mutation = (b: Buffer) => Buffer;

const mutation: fc.Arbitrary<Mutation> = fc.oneof(
  // Truncated anywhere.
  fc.nat().map((n) => (b: Buffer) => b.subarray(0, n % (b.length + 1))),
  // Bytes overwritten.
  fc.tuple(fc.nat(), fc.uint8Array({ minLength: 1, maxLength: 8 })).map(([at, bytes]) => (b: Buffer) => {
    const c = Buffer.from(b);
    for (let i = 0; i < bytes.length; i++) c[(at + i) % Math.max(1, c.length)] = bytes[i] as number;
    return c;
  }),
  // Bytes inserted.
  fc.tuple(fc.nat(), fc.uint8Array({ minLength: 1, maxLength: 16 })).map(([at, bytes]) => (b: Buffer) => {
    const i = at % (b.length + 1);
    return Buffer.concat([b.subarray(0, i), bytes, b.subarray(i)]);
  }),
  // A field with a huge declared length (up to 2^53) where a message was expected.
  fc.tuple(fc.integer({ min: 1, max: 15 }), fc.constantFrom(2 ** 31, 2 ** 32 - 1, 2 ** 53 - 1, 1e9)).map(([field, len]) => (b: Buffer) => Buffer.concat([Buffer.from([(field << 3) | 2]), varint(len), b])),
  // A known field number with every wrong wire type.
  fc.tuple(fc.integer({ min: 1, max: 3 }), fc.constantFrom(0, 1, 3, 4, 5, 6, 7)).map(([field, wt]) => (b: Buffer) => Buffer.concat([b, Buffer.from([(field << 3) | wt, 1, 2, 3, 4, 5, 6, 7, 8])])),
  // An unterminated varint.
  fc.constant((b: Buffer) => Buffer.concat([b, Buffer.from([0x08, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff])])),
);

/** A valid request with one to four mutations applied. */
export const mutatedProtobuf: fc.Arbitrary<Buffer> = fc
  .tuple(fc.constantFrom(...validTraceBodies), fc.array(mutation, { minLength: 1, maxLength: 4 }))
  .map(([body, ms]) => ms.reduce((b, m) => m(b), body));

export const randomBytes: fc.Arbitrary<Buffer> = fc.uint8Array({ maxLength: 4096 }).map((u) => Buffer.from(u));

/** A length-delimited protobuf field. */
const ld = (field: number, ...parts: Buffer[]) => {
  const body = Buffer.concat(parts);
  return Buffer.concat([varint((field << 3) | 2), varint(body.length), body]);
};

/**
 * An AnyValue nested `depth` levels deep, built as bytes without recursion
 * (an encoder would overflow its own stack long before the decoder is tested).
 */
export function deepAnyValueBytes(depth: number, kind: 'array' | 'kvlist'): Buffer {
  const leaf = ld(1, Buffer.from('leaf'));
  let inner = leaf.length;
  const prefixes: Buffer[] = [];
  for (let i = 0; i < depth; i++) {
    if (kind === 'array') {
      // AnyValue{array_value(5): ArrayValue{values(1): inner}}
      const arr = 1 + varint(inner).length + inner;
      prefixes.push(Buffer.concat([Buffer.from([0x2a]), varint(arr), Buffer.from([0x0a]), varint(inner)]));
      inner = 1 + varint(arr).length + arr;
    } else {
      // AnyValue{kvlist_value(6): KeyValueList{values(1): KeyValue{key(1): "k", value(2): inner}}}
      const kv = 3 + 1 + varint(inner).length + inner;
      const kvl = 1 + varint(kv).length + kv;
      prefixes.push(Buffer.concat([Buffer.from([0x32]), varint(kvl), Buffer.from([0x0a]), varint(kv), Buffer.from([0x0a, 0x01, 0x6b, 0x12]), varint(inner)]));
      inner = 1 + varint(kvl).length + kvl;
    }
  }
  prefixes.reverse();
  return Buffer.concat([...prefixes, leaf]);
}

function spanBytes(spanId: string, name: string, attributes: Buffer[]): Buffer {
  const times = Buffer.alloc(18);
  times[0] = (7 << 3) | 1;
  times.writeBigUInt64LE(1_700_000_000_000_000_000n, 1);
  times[9] = (8 << 3) | 1;
  times.writeBigUInt64LE(1_700_000_000_000_001_000n, 10);
  return ld(2, ld(1, Buffer.from(TRACE_ID, 'hex')), ld(2, Buffer.from(spanId, 'hex')), ld(5, Buffer.from(name)), Buffer.from([6 << 3, 1]), times, ...attributes);
}

/** A protobuf request with one span whose attribute nests `depth` levels, plus one plain valid span. */
export function deepProtobuf(depth: number, kind: 'array' | 'kvlist'): Buffer {
  const deep = spanBytes('00000000000000aa', 'deep', [ld(9, ld(1, Buffer.from('deep')), ld(2, deepAnyValueBytes(depth, kind)))]);
  const plain = spanBytes('00000000000000bb', 'plain', []);
  // ExportTraceServiceRequest{resource_spans(1): ResourceSpans{scope_spans(2): ScopeSpans{spans(2): …}}}
  return ld(1, ld(2, deep, plain));
}

function jsonAnyValue(depth: number, kind: 'array' | 'kvlist'): string {
  let v = '{"stringValue":"leaf"}';
  for (let i = 0; i < depth; i++) v = kind === 'array' ? `{"arrayValue":{"values":[${v}]}}` : `{"kvlistValue":{"values":[{"key":"k","value":${v}}]}}`;
  return v;
}

export const TRACE_ID = '5b8efff798038103d269b633813fc60c';

export function jsonSpan(spanId: string, extra = '', traceId = TRACE_ID): string {
  return `{"traceId":"${traceId}","spanId":"${spanId}","name":"fuzz","kind":1,"startTimeUnixNano":"1700000000000000000","endTimeUnixNano":"1700000000000001000"${extra}}`;
}

export function jsonRequest(spans: string[]): string {
  return `{"resourceSpans":[{"resource":{"attributes":[{"key":"service.name","value":{"stringValue":"fuzz"}}]},"scopeSpans":[{"scope":{"name":"fuzz"},"spans":[${spans.join(',')}]}]}]}`;
}

/** Hostile JSON request bodies: each a Buffer, as some are not valid UTF-8. */
export const hostileJson: fc.Arbitrary<Buffer> = fc.oneof(
  fc.tuple(fc.integer({ min: 1, max: 3000 }), fc.constantFrom('array' as const, 'kvlist' as const)).map(([d, k]) => Buffer.from(jsonRequest([jsonSpan('0000000000000001', `,"attributes":[{"key":"deep","value":${jsonAnyValue(d, k)}}]`)]))),
  // Raw nesting of plain JSON arrays (a parser's recursion depth).
  fc.integer({ min: 1, max: 100_000 }).map((d) => Buffer.from(`{"resourceSpans":${'['.repeat(d)}${']'.repeat(d)}}`)),
  fc.integer({ min: 1, max: 100_000 }).map((d) => Buffer.from(`{"resourceSpans":${'['.repeat(d)}`)),
  // Duplicate keys, the last or the first of which is invalid.
  fc.constantFrom(
    jsonRequest([jsonSpan('0000000000000001', ',"spanId":"zz"')]),
    jsonRequest([`{"spanId":"zz",${jsonSpan('0000000000000001').slice(1)}`]),
    `{"resourceSpans":[],"resourceSpans":[{"scopeSpans":[{"spans":[${jsonSpan('0000000000000001')}]}]}]}`,
  ).map((s) => Buffer.from(s)),
  // NaN / Infinity as numbers, as JSON numbers and as strings.
  fc.constantFrom('NaN', 'Infinity', '-Infinity', '"NaN"', '"Infinity"', '1e400', '-1e400', '"-0"').map((n) =>
    Buffer.from(jsonRequest([jsonSpan('0000000000000001', `,"attributes":[{"key":"d","value":{"doubleValue":${n}}},{"key":"i","value":{"intValue":${n}}}],"startTimeUnixNano":${n}`)])),
  ),
  // A 1 MB string value.
  fc.constantFrom('x', 'é', '\\u0000', '\\ud800').map((c) => Buffer.from(jsonRequest([jsonSpan('0000000000000001', `,"attributes":[{"key":"big","value":{"stringValue":"${c.repeat(Math.floor((1 << 20) / c.length))}"}}]`)]))),
  // Invalid UTF-8 inside a string and outside.
  fc.uint8Array({ minLength: 1, maxLength: 8 }).map((bad) => {
    const body = Buffer.from(jsonRequest([jsonSpan('0000000000000001', ',"attributes":[{"key":"k","value":{"stringValue":"@@"}}]')]));
    const at = body.indexOf('@@');
    return Buffer.concat([body.subarray(0, at), Buffer.from(bad.map((b) => b | 0x80)), body.subarray(at + 2)]);
  }),
  // Valid JSON of the wrong shapes.
  fc.json({ maxDepth: 6 }).map((s) => Buffer.from(s)),
  fc.json({ maxDepth: 4 }).map((s) => Buffer.from(`{"resourceSpans":[{"scopeSpans":[{"spans":[${s}]}]}]}`)),
  // Truncated valid JSON.
  fc.nat().map((n) => {
    const s = Buffer.from(jsonRequest([jsonSpan('0000000000000001'), jsonSpan('0000000000000002')]));
    return s.subarray(0, n % s.length);
  }),
);
