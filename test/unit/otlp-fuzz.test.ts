// Property tests: whatever arrives on the wire, the decoders answer with a
// DecodeResult or an OtlpDecodeError (never another exception, never a hang),
// and what they call accepted is what the batch holds.
import { before, test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { decodeLogs, decodeTraces } from '../../pipeline/otlp/decode-protobuf.js';
import { decodeLogsJson, decodeTracesJson } from '../../pipeline/otlp/decode-json.js';
import { MAX_REASONS, OtlpDecodeError, type DecodeResult } from '../../pipeline/otlp/errors.js';
import { countItems, type Batch } from '../../pipeline/model.js';
import { makeLogs, makeSpans, serializeLogsJson, serializeLogsProto, serializeTracesJson, serializeTracesProto } from './otlp-fixtures.js';

/** Runs a decoder; fails the property on any exception but OtlpDecodeError or an inconsistent result. */
function survives(decode: () => DecodeResult<Batch>): void {
  let r: DecodeResult<Batch>;
  try {
    r = decode();
  } catch (e) {
    if (e instanceof OtlpDecodeError) return;
    throw e;
  }
  assert.equal(r.accepted, countItems(r.batch));
  assert.ok(r.rejected >= 0, 'rejected is a count');
  assert.ok(r.errors.length <= MAX_REASONS, 'reasons are capped');
  assert.equal(r.errors.length === 0, r.rejected === 0);
}

let traceProto: Uint8Array;
let logsProto: Uint8Array;
let traceJson: string;
let logsJson: string;

before(async () => {
  const spans = await makeSpans();
  const logs = await makeLogs();
  traceProto = serializeTracesProto(spans);
  logsProto = serializeLogsProto(logs);
  traceJson = serializeTracesJson(spans);
  logsJson = serializeLogsJson(logs);
});

test('random bytes', () => {
  fc.assert(
    fc.property(fc.uint8Array({ maxLength: 512 }), (b) => {
      survives(() => decodeTraces(b));
      survives(() => decodeLogs(b));
    }),
    { numRuns: 3000 },
  );
});

type Mutation = { at: number; op: 'flip' | 'set' | 'insert' | 'delete' | 'truncate'; value: number };
const mutation = fc.record({
  at: fc.nat(),
  op: fc.constantFrom<Mutation['op']>('flip', 'set', 'insert', 'delete', 'truncate'),
  value: fc.integer({ min: 0, max: 255 }),
});

function mutate(src: Uint8Array, ms: Mutation[]): Uint8Array {
  let b = [...src];
  for (const m of ms) {
    if (b.length === 0) break;
    const i = m.at % b.length;
    if (m.op === 'flip') b[i] = b[i]! ^ (1 << (m.value & 7));
    else if (m.op === 'set') b[i] = m.value;
    else if (m.op === 'insert') b.splice(i, 0, m.value);
    else if (m.op === 'delete') b.splice(i, 1);
    else b = b.slice(0, i);
  }
  return new Uint8Array(b);
}

test('mutated real SDK payloads', () => {
  fc.assert(
    fc.property(fc.array(mutation, { minLength: 1, maxLength: 6 }), (ms) => {
      survives(() => decodeTraces(mutate(traceProto, ms)));
      survives(() => decodeLogs(mutate(logsProto, ms)));
    }),
    { numRuns: 2000 },
  );
});

test('a single flipped bit never makes a span count twice', () => {
  fc.assert(
    fc.property(fc.nat(), fc.integer({ min: 0, max: 7 }), (at, bit) => {
      const b = traceProto.slice();
      b[at % b.length] ^= 1 << bit;
      try {
        const r = decodeTraces(b);
        // Two spans went in. A flip can drop one (its tag becomes an unknown
        // field), and a flipped length can end a span early so that its tail
        // is read at the group level, where a span_id tag (field 2, like
        // `spans`) is one more (malformed) span entry: the wire then really
        // holds that entry, and it is rejected, not accepted. Never can a flip
        // make one span land twice.
        assert.ok(r.accepted <= 2, 'no span is accepted twice');
        assert.ok(r.accepted + r.rejected <= 3, 'a flip adds at most the one entry a cut span leaves behind');
      } catch (e) {
        assert.ok(e instanceof OtlpDecodeError, 'only OtlpDecodeError escapes');
      }
    }),
    { numRuns: 1000 },
  );
});

test('random JSON documents', () => {
  fc.assert(
    fc.property(fc.json({ maxDepth: 6 }), (text) => {
      survives(() => decodeTracesJson(text));
      survives(() => decodeLogsJson(text));
    }),
    { numRuns: 1000 },
  );
});

/** Replaces the value at a random path of a parsed document with random JSON. */
function graft(doc: unknown, path: number[], value: unknown): unknown {
  if (path.length === 0 || typeof doc !== 'object' || doc === null) return value;
  const keys = Object.keys(doc);
  if (keys.length === 0) return value;
  const k = keys[path[0]! % keys.length]!;
  const copy: Record<string, unknown> | unknown[] = Array.isArray(doc) ? [...doc] : { ...(doc as Record<string, unknown>) };
  (copy as Record<string, unknown>)[k] = graft((doc as Record<string, unknown>)[k], path.slice(1), value);
  return copy;
}

test('real SDK JSON with a random subtree replaced', () => {
  const traces = JSON.parse(traceJson) as unknown;
  const logs = JSON.parse(logsJson) as unknown;
  fc.assert(
    fc.property(fc.array(fc.nat(), { maxLength: 12 }), fc.jsonValue({ maxDepth: 3 }), (path, value) => {
      survives(() => decodeTracesJson(JSON.stringify(graft(traces, path, value))));
      survives(() => decodeLogsJson(JSON.stringify(graft(logs, path, value))));
    }),
    { numRuns: 2000 },
  );
});

test('real SDK JSON text with random edits', () => {
  fc.assert(
    fc.property(fc.array(mutation, { minLength: 1, maxLength: 4 }), (ms) => {
      const t = Buffer.from(mutate(Buffer.from(traceJson), ms)).toString('latin1');
      survives(() => decodeTracesJson(t));
      const l = Buffer.from(mutate(Buffer.from(logsJson), ms)).toString('latin1');
      survives(() => decodeLogsJson(l));
    }),
    { numRuns: 1000 },
  );
});
