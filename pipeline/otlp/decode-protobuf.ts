// OTLP protobuf → the internal model, in one pass over the request bytes with
// no intermediate message objects: this is the ingest hot path
// (bench/otlp-decode.ts compares it with protobufjs).
//
// Field numbers are opentelemetry-proto v1 (collector/{trace,logs}/v1,
// trace/v1, logs/v1, common/v1, resource/v1).
//
// Error isolation follows the message tree. Each Span / LogRecord is a
// length-delimited sub-message: anything wrong inside its bounds rejects that
// item only. A Resource or InstrumentationScope that is wrong inside its own
// bounds rejects the items of its group (they would land without the identity
// that makes them meaningful). A broken container (a length that overruns its
// parent, a bad tag or wire type between items) leaves no way to find the next
// item, so the whole request fails with OtlpDecodeError.
//
// The cursor, the input views and the per-request tallies are module state:
// decoding is synchronous and never re-entered, and plain variables keep the
// inner loops free of property loads and closures.
import type {
  AnyValue,
  KeyValue,
  LogBatch,
  LogRecord,
  Resource,
  ResourceLogs,
  ResourceSpans,
  Scope,
  ScopeLogs,
  ScopeSpans,
  Span,
  SpanEvent,
  SpanLink,
  TraceBatch,
} from '../model.js';
import { LOGS, TRACES, type Envelope } from './envelope.js';
import { MAX_ANY_VALUE_DEPTH, MAX_REASONS, Malformed, OtlpDecodeError, type DecodeResult } from './errors.js';

// Node's Buffer has native slice-to-string methods that skip toString()'s
// argument checks; they are stable but untyped.
interface NativeSlices extends Uint8Array {
  utf8Slice(start: number, end: number): string;
  hexSlice(start: number, end: number): string;
}

const VARINT = 0;
const I64 = 1;
const LEN = 2;
const I32 = 5;

const EMPTY = new Uint8Array(0);
const ZERO_TRACE_ID = '0'.repeat(32);
const ZERO_SPAN_ID = '0'.repeat(16);

let u8: Uint8Array = EMPTY;
let nb: NativeSlices = asNative(EMPTY);
let dv: DataView = new DataView(EMPTY.buffer);
let pos = 0;
let accepted = 0;
let rejected = 0;
let reasons: string[] = [];

function asNative(b: Uint8Array): NativeSlices {
  return Buffer.from(b.buffer, b.byteOffset, b.byteLength) as unknown as NativeSlices;
}

function begin(buf: Uint8Array): void {
  if (!(buf instanceof Uint8Array)) throw new OtlpDecodeError('request body must be bytes');
  // A plain Uint8Array view, so that slice() copies (Buffer#slice aliases).
  u8 = new Uint8Array(buf.buffer, buf.byteOffset, buf.byteLength);
  nb = asNative(u8);
  dv = new DataView(u8.buffer, u8.byteOffset, u8.byteLength);
  pos = 0;
  accepted = 0;
  rejected = 0;
  reasons = [];
}

/** Drops the module's references to the request so it can be collected. */
function end(): void {
  u8 = EMPTY;
  nb = asNative(EMPTY);
  dv = new DataView(EMPTY.buffer);
}

function reject(count: number, where: string, reason: string): void {
  // A broken resource or scope with no items loses nothing: nothing to report.
  if (count === 0) return;
  rejected += count;
  if (reasons.length < MAX_REASONS) reasons.push(`${where}: ${reason}`);
}

// ---------------------------------------------------------------------------
// Wire primitives. Every read is bounded by `limit`, the end of the innermost
// message being read, so a lying length can never read a neighbour's bytes.

const TRUNCATED = 'message is truncated';

/** The low 32 bits of a varint of up to 10 bytes, unsigned. */
function varint32(limit: number): number {
  if (pos >= limit) throw new Malformed(TRUNCATED);
  let b = u8[pos++]!;
  if (b < 0x80) return b;
  let v = b & 0x7f;
  for (let shift = 7; shift < 70; shift += 7) {
    if (pos >= limit) throw new Malformed(TRUNCATED);
    b = u8[pos++]!;
    if (shift < 32) v |= (b & 0x7f) << shift;
    if (b < 0x80) return v >>> 0;
  }
  throw new Malformed('varint longer than 10 bytes');
}

/** A varint as a signed int64 (two's complement), for int_value. */
function varint64(limit: number): bigint {
  let lo = 0;
  let b = 0;
  for (let shift = 0; shift < 28; shift += 7) {
    if (pos >= limit) throw new Malformed(TRUNCATED);
    b = u8[pos++]!;
    lo |= (b & 0x7f) << shift;
    if (b < 0x80) return BigInt(lo);
  }
  if (pos >= limit) throw new Malformed(TRUNCATED);
  b = u8[pos++]!;
  lo |= (b & 0x7f) << 28;
  let hi = (b & 0x7f) >> 4;
  if (b >= 0x80) {
    for (let shift = 3; ; shift += 7) {
      if (shift > 31) throw new Malformed('varint longer than 10 bytes');
      if (pos >= limit) throw new Malformed(TRUNCATED);
      b = u8[pos++]!;
      hi |= (b & 0x7f) << shift;
      if (b < 0x80) break;
    }
  }
  if (hi === 0) return BigInt(lo >>> 0);
  return BigInt.asIntN(64, (BigInt(hi >>> 0) << 32n) | BigInt(lo >>> 0));
}

/** A length prefix, checked against what is left of the enclosing message. */
function length(limit: number): number {
  if (pos >= limit) throw new Malformed(TRUNCATED);
  let b = u8[pos++]!;
  let n = b & 0x7f;
  let mul = 128;
  while (b >= 0x80) {
    if (mul > 2 ** 63) throw new Malformed('varint longer than 10 bytes');
    if (pos >= limit) throw new Malformed(TRUNCATED);
    b = u8[pos++]!;
    n += (b & 0x7f) * mul;
    mul *= 128;
  }
  if (n > limit - pos) throw new Malformed(`length ${n} overruns the enclosing message (${limit - pos} bytes left)`);
  return n;
}

/** The end of a length-delimited field's body (after reading its length). */
function subEnd(limit: number): number {
  const n = length(limit);
  return pos + n;
}

function fixed64(limit: number): bigint {
  if (limit - pos < 8) throw new Malformed(TRUNCATED);
  const v = dv.getBigUint64(pos, true);
  pos += 8;
  return v;
}

function double(limit: number): number {
  if (limit - pos < 8) throw new Malformed(TRUNCATED);
  const v = dv.getFloat64(pos, true);
  pos += 8;
  return v;
}

function fixed32(limit: number): number {
  if (limit - pos < 4) throw new Malformed(TRUNCATED);
  const v = dv.getUint32(pos, true);
  pos += 4;
  return v;
}

/** UTF-8; invalid sequences become U+FFFD (the item is kept). */
function string(limit: number): string {
  const n = length(limit);
  if (n === 0) return '';
  const s = nb.utf8Slice(pos, pos + n);
  pos += n;
  return s;
}

/**
 * A trace or span id as lowercase hex. `size` is the only accepted non-empty
 * length; an all-zero id is returned as the zero string for the caller to judge.
 */
function id(limit: number, size: number, field: string): string {
  const n = length(limit);
  if (n === 0) return '';
  if (n !== size) throw new Malformed(`${field} must be ${size} bytes, got ${n}`);
  const s = nb.hexSlice(pos, pos + n);
  pos += n;
  return s;
}

function skip(wireType: number, limit: number): void {
  switch (wireType) {
    case VARINT:
      varint32(limit);
      return;
    case I64:
      if (limit - pos < 8) throw new Malformed(TRUNCATED);
      pos += 8;
      return;
    case LEN: {
      const n = length(limit);
      pos += n;
      return;
    }
    case I32:
      if (limit - pos < 4) throw new Malformed(TRUNCATED);
      pos += 4;
      return;
    default:
      // 3/4 are proto2 groups, which no OTLP version uses; 6/7 do not exist.
      throw new Malformed(`unsupported wire type ${wireType}`);
  }
}

function tag(limit: number): number {
  const t = varint32(limit);
  if (t >>> 3 === 0) throw new Malformed('field number 0 is invalid');
  return t;
}

function expect(t: number, wireType: number, field: string): void {
  if ((t & 7) !== wireType) throw new Malformed(`${field} has wire type ${t & 7}, expected ${wireType}`);
}

function enumIn(v: number, max: number): number {
  // Proto3 enums are open; values this model has no name for read as 0 (unspecified).
  return v <= max ? v : 0;
}

// ---------------------------------------------------------------------------
// common/v1

function anyValue(limit: number, depth: number): AnyValue {
  let v: AnyValue = null;
  while (pos < limit) {
    const t = tag(limit);
    switch (t >>> 3) {
      case 1:
        expect(t, LEN, 'string_value');
        v = string(limit);
        break;
      case 2:
        expect(t, VARINT, 'bool_value');
        v = varint32(limit) !== 0;
        break;
      case 3:
        expect(t, VARINT, 'int_value');
        v = varint64(limit);
        break;
      case 4:
        expect(t, I64, 'double_value');
        v = double(limit);
        break;
      case 5: {
        expect(t, LEN, 'array_value');
        const sub = subEnd(limit);
        if (depth >= MAX_ANY_VALUE_DEPTH) throw new Malformed(`values nest deeper than ${MAX_ANY_VALUE_DEPTH} levels`);
        v = arrayValue(sub, depth + 1);
        break;
      }
      case 6: {
        expect(t, LEN, 'kvlist_value');
        const sub = subEnd(limit);
        if (depth >= MAX_ANY_VALUE_DEPTH) throw new Malformed(`values nest deeper than ${MAX_ANY_VALUE_DEPTH} levels`);
        v = { kvlist: keyValueList(sub, depth + 1) };
        break;
      }
      case 7: {
        expect(t, LEN, 'bytes_value');
        const n = length(limit);
        v = u8.slice(pos, pos + n);
        pos += n;
        break;
      }
      default:
        skip(t & 7, limit);
    }
  }
  return v;
}

function arrayValue(limit: number, depth: number): AnyValue[] {
  const values: AnyValue[] = [];
  while (pos < limit) {
    const t = tag(limit);
    if (t >>> 3 === 1) {
      expect(t, LEN, 'array_value.values');
      const sub = subEnd(limit);
      values.push(anyValue(sub, depth));
    } else skip(t & 7, limit);
  }
  return values;
}

function keyValueList(limit: number, depth: number): KeyValue[] {
  const values: KeyValue[] = [];
  while (pos < limit) {
    const t = tag(limit);
    if (t >>> 3 === 1) {
      expect(t, LEN, 'kvlist_value.values');
      const sub = subEnd(limit);
      values.push(keyValue(sub, depth));
    } else skip(t & 7, limit);
  }
  return values;
}

function keyValue(limit: number, depth: number): KeyValue {
  let key = '';
  let value: AnyValue = null;
  while (pos < limit) {
    const t = tag(limit);
    switch (t >>> 3) {
      case 1:
        expect(t, LEN, 'key');
        key = string(limit);
        break;
      case 2: {
        expect(t, LEN, 'value');
        const sub = subEnd(limit);
        value = anyValue(sub, depth);
        break;
      }
      default:
        skip(t & 7, limit);
    }
  }
  return { key, value };
}

/** One `repeated KeyValue attributes` element, appended to `into`. */
function attribute(t: number, limit: number, into: KeyValue[]): void {
  expect(t, LEN, 'attributes');
  const sub = subEnd(limit);
  into.push(keyValue(sub, 0));
}

function resource(limit: number): Resource {
  const attributes: KeyValue[] = [];
  let droppedAttributesCount = 0;
  while (pos < limit) {
    const t = tag(limit);
    switch (t >>> 3) {
      case 1:
        attribute(t, limit, attributes);
        break;
      case 2:
        expect(t, VARINT, 'dropped_attributes_count');
        droppedAttributesCount = varint32(limit);
        break;
      default:
        // 3: entity_refs (development), not part of the model yet.
        skip(t & 7, limit);
    }
  }
  return { attributes, droppedAttributesCount };
}

function scope(limit: number): Scope {
  let name = '';
  let version = '';
  const attributes: KeyValue[] = [];
  let droppedAttributesCount = 0;
  while (pos < limit) {
    const t = tag(limit);
    switch (t >>> 3) {
      case 1:
        expect(t, LEN, 'name');
        name = string(limit);
        break;
      case 2:
        expect(t, LEN, 'version');
        version = string(limit);
        break;
      case 3:
        attribute(t, limit, attributes);
        break;
      case 4:
        expect(t, VARINT, 'dropped_attributes_count');
        droppedAttributesCount = varint32(limit);
        break;
      default:
        skip(t & 7, limit);
    }
  }
  return { name, version, attributes, droppedAttributesCount };
}

// ---------------------------------------------------------------------------
// trace/v1

function span(limit: number): Span {
  let traceId = '';
  let spanId = '';
  let parentSpanId = '';
  let traceState = '';
  let flags = 0;
  let name = '';
  let kind = 0;
  let startTimeUnixNano = 0n;
  let endTimeUnixNano = 0n;
  const attributes: KeyValue[] = [];
  let droppedAttributesCount = 0;
  const events: SpanEvent[] = [];
  let droppedEventsCount = 0;
  const links: SpanLink[] = [];
  let droppedLinksCount = 0;
  let statusCode = 0;
  let statusMessage = '';
  while (pos < limit) {
    const t = tag(limit);
    switch (t >>> 3) {
      case 1:
        expect(t, LEN, 'trace_id');
        traceId = id(limit, 16, 'trace_id');
        break;
      case 2:
        expect(t, LEN, 'span_id');
        spanId = id(limit, 8, 'span_id');
        break;
      case 3:
        expect(t, LEN, 'trace_state');
        traceState = string(limit);
        break;
      case 4:
        expect(t, LEN, 'parent_span_id');
        parentSpanId = id(limit, 8, 'parent_span_id');
        break;
      case 5:
        expect(t, LEN, 'name');
        name = string(limit);
        break;
      case 6:
        expect(t, VARINT, 'kind');
        kind = enumIn(varint32(limit), 5);
        break;
      case 7:
        expect(t, I64, 'start_time_unix_nano');
        startTimeUnixNano = fixed64(limit);
        break;
      case 8:
        expect(t, I64, 'end_time_unix_nano');
        endTimeUnixNano = fixed64(limit);
        break;
      case 9:
        attribute(t, limit, attributes);
        break;
      case 10:
        expect(t, VARINT, 'dropped_attributes_count');
        droppedAttributesCount = varint32(limit);
        break;
      case 11: {
        expect(t, LEN, 'events');
        const sub = subEnd(limit);
        events.push(spanEvent(sub));
        break;
      }
      case 12:
        expect(t, VARINT, 'dropped_events_count');
        droppedEventsCount = varint32(limit);
        break;
      case 13: {
        expect(t, LEN, 'links');
        const sub = subEnd(limit);
        links.push(spanLink(sub));
        break;
      }
      case 14:
        expect(t, VARINT, 'dropped_links_count');
        droppedLinksCount = varint32(limit);
        break;
      case 15: {
        expect(t, LEN, 'status');
        // Inlined rather than a helper returning an object: a repeated status
        // merges field by field, as protobuf specifies for sub-messages.
        const sub = subEnd(limit);
        while (pos < sub) {
          const st = tag(sub);
          if (st >>> 3 === 2) {
            expect(st, LEN, 'status.message');
            statusMessage = string(sub);
          } else if (st >>> 3 === 3) {
            expect(st, VARINT, 'status.code');
            statusCode = enumIn(varint32(sub), 2);
          } else skip(st & 7, sub);
        }
        break;
      }
      case 16:
        expect(t, I32, 'flags');
        flags = fixed32(limit);
        break;
      default:
        skip(t & 7, limit);
    }
  }
  if (traceId === '') throw new Malformed('trace_id is missing');
  if (traceId === ZERO_TRACE_ID) throw new Malformed('trace_id is all zeros');
  if (spanId === '') throw new Malformed('span_id is missing');
  if (spanId === ZERO_SPAN_ID) throw new Malformed('span_id is all zeros');
  if (parentSpanId === ZERO_SPAN_ID) parentSpanId = '';
  return {
    traceId,
    spanId,
    parentSpanId,
    traceState,
    flags,
    name,
    kind,
    startTimeUnixNano,
    endTimeUnixNano,
    attributes,
    droppedAttributesCount,
    events,
    droppedEventsCount,
    links,
    droppedLinksCount,
    status: { code: statusCode, message: statusMessage },
  };
}

function spanEvent(limit: number): SpanEvent {
  let timeUnixNano = 0n;
  let name = '';
  const attributes: KeyValue[] = [];
  let droppedAttributesCount = 0;
  while (pos < limit) {
    const t = tag(limit);
    switch (t >>> 3) {
      case 1:
        expect(t, I64, 'events.time_unix_nano');
        timeUnixNano = fixed64(limit);
        break;
      case 2:
        expect(t, LEN, 'events.name');
        name = string(limit);
        break;
      case 3:
        attribute(t, limit, attributes);
        break;
      case 4:
        expect(t, VARINT, 'events.dropped_attributes_count');
        droppedAttributesCount = varint32(limit);
        break;
      default:
        skip(t & 7, limit);
    }
  }
  return { timeUnixNano, name, attributes, droppedAttributesCount };
}

function spanLink(limit: number): SpanLink {
  let traceId = '';
  let spanId = '';
  let traceState = '';
  const attributes: KeyValue[] = [];
  let droppedAttributesCount = 0;
  let flags = 0;
  while (pos < limit) {
    const t = tag(limit);
    switch (t >>> 3) {
      case 1:
        expect(t, LEN, 'links.trace_id');
        traceId = id(limit, 16, 'links.trace_id');
        break;
      case 2:
        expect(t, LEN, 'links.span_id');
        spanId = id(limit, 8, 'links.span_id');
        break;
      case 3:
        expect(t, LEN, 'links.trace_state');
        traceState = string(limit);
        break;
      case 4:
        attribute(t, limit, attributes);
        break;
      case 5:
        expect(t, VARINT, 'links.dropped_attributes_count');
        droppedAttributesCount = varint32(limit);
        break;
      case 6:
        expect(t, I32, 'links.flags');
        flags = fixed32(limit);
        break;
      default:
        skip(t & 7, limit);
    }
  }
  if (traceId === '' || traceId === ZERO_TRACE_ID) throw new Malformed('links.trace_id is missing or all zeros');
  if (spanId === '' || spanId === ZERO_SPAN_ID) throw new Malformed('links.span_id is missing or all zeros');
  return { traceId, spanId, traceState, attributes, droppedAttributesCount, flags };
}

// ---------------------------------------------------------------------------
// logs/v1

function logRecord(limit: number): LogRecord {
  let timeUnixNano = 0n;
  let observedTimeUnixNano = 0n;
  let severityNumber = 0;
  let severityText = '';
  let body: AnyValue = null;
  const attributes: KeyValue[] = [];
  let droppedAttributesCount = 0;
  let flags = 0;
  let traceId = '';
  let spanId = '';
  let eventName = '';
  while (pos < limit) {
    const t = tag(limit);
    switch (t >>> 3) {
      case 1:
        expect(t, I64, 'time_unix_nano');
        timeUnixNano = fixed64(limit);
        break;
      case 2:
        expect(t, VARINT, 'severity_number');
        severityNumber = enumIn(varint32(limit), 24);
        break;
      case 3:
        expect(t, LEN, 'severity_text');
        severityText = string(limit);
        break;
      case 5: {
        expect(t, LEN, 'body');
        const sub = subEnd(limit);
        body = anyValue(sub, 0);
        break;
      }
      case 6:
        attribute(t, limit, attributes);
        break;
      case 7:
        expect(t, VARINT, 'dropped_attributes_count');
        droppedAttributesCount = varint32(limit);
        break;
      case 8:
        expect(t, I32, 'flags');
        flags = fixed32(limit);
        break;
      case 9:
        expect(t, LEN, 'trace_id');
        traceId = id(limit, 16, 'trace_id');
        break;
      case 10:
        expect(t, LEN, 'span_id');
        spanId = id(limit, 8, 'span_id');
        break;
      case 11:
        expect(t, I64, 'observed_time_unix_nano');
        observedTimeUnixNano = fixed64(limit);
        break;
      case 12:
        expect(t, LEN, 'event_name');
        eventName = string(limit);
        break;
      default:
        // 4: the removed `name`, reserved.
        skip(t & 7, limit);
    }
  }
  // All-zero ids are "no id" (the collector prints them as ''), which the
  // model spells ''.
  if (traceId === ZERO_TRACE_ID) traceId = '';
  if (spanId === ZERO_SPAN_ID) spanId = '';
  return {
    timeUnixNano,
    observedTimeUnixNano,
    severityNumber,
    severityText,
    body,
    attributes,
    droppedAttributesCount,
    flags,
    traceId,
    spanId,
    eventName,
  };
}

// ---------------------------------------------------------------------------
// The request envelope, the same for both signals (see envelope.ts). The item
// decoder and the group shapes are picked by `env.traces` with a branch, not
// passed in as functions, so the per-item call stays direct and monomorphic.

function scopeGroup(limit: number, where: string, env: Envelope): ScopeSpans | ScopeLogs | null {
  const traces = env.traces;
  let sc: Scope | null = null;
  let scopeError = '';
  const items: (Span | LogRecord)[] = [];
  let count = 0;
  let schemaUrl = '';
  while (pos < limit) {
    const t = tag(limit);
    switch (t >>> 3) {
      case 1: {
        expect(t, LEN, 'scope');
        const sub = subEnd(limit);
        try {
          sc = scope(sub);
        } catch (e) {
          if (!(e instanceof Malformed)) throw e;
          scopeError = e.reason;
        }
        pos = sub;
        break;
      }
      case 2: {
        expect(t, LEN, env.items);
        const sub = subEnd(limit);
        try {
          items.push(traces ? span(sub) : logRecord(sub));
        } catch (e) {
          if (!(e instanceof Malformed)) throw e;
          reject(1, `${where}.${env.items}[${count}]`, e.reason);
        }
        count++;
        pos = sub;
        break;
      }
      case 3:
        expect(t, LEN, 'schema_url');
        schemaUrl = string(limit);
        break;
      default:
        skip(t & 7, limit);
    }
  }
  if (scopeError !== '') {
    reject(items.length, `${where}.scope`, scopeError);
    return null;
  }
  if (items.length === 0 && count > 0) return null;
  accepted += items.length;
  const s = sc ?? { name: '', version: '', attributes: [], droppedAttributesCount: 0 };
  return traces
    ? { scope: s, spans: items as Span[], schemaUrl }
    : { scope: s, logRecords: items as LogRecord[], schemaUrl };
}

function resourceGroup(limit: number, where: string, env: Envelope): ResourceSpans | ResourceLogs | null {
  let res: Resource | null = null;
  let resourceError = '';
  const groups: (ScopeSpans | ScopeLogs)[] = [];
  let count = 0;
  let schemaUrl = '';
  const acceptedBefore = accepted;
  while (pos < limit) {
    const t = tag(limit);
    switch (t >>> 3) {
      case 1: {
        expect(t, LEN, 'resource');
        const sub = subEnd(limit);
        try {
          res = resource(sub);
        } catch (e) {
          if (!(e instanceof Malformed)) throw e;
          resourceError = e.reason;
        }
        pos = sub;
        break;
      }
      case 2: {
        expect(t, LEN, env.scopes);
        const sub = subEnd(limit);
        const g = scopeGroup(sub, `${where}.${env.scopes}[${count++}]`, env);
        if (g !== null) groups.push(g);
        break;
      }
      case 3:
        expect(t, LEN, 'schema_url');
        schemaUrl = string(limit);
        break;
      default:
        skip(t & 7, limit);
    }
  }
  if (resourceError !== '') {
    const n = accepted - acceptedBefore;
    accepted = acceptedBefore;
    reject(n, `${where}.resource`, resourceError);
    return null;
  }
  // Every group it had was emptied by rejection.
  if (groups.length === 0 && count > 0) return null;
  const r = res ?? { attributes: [], droppedAttributesCount: 0 };
  return env.traces
    ? { resource: r, scopeSpans: groups as ScopeSpans[], schemaUrl }
    : { resource: r, scopeLogs: groups as ScopeLogs[], schemaUrl };
}

/** The request's resource groups, of the signal `env` names. */
function request(buf: Uint8Array, env: Envelope): (ResourceSpans | ResourceLogs)[] {
  begin(buf);
  const out: (ResourceSpans | ResourceLogs)[] = [];
  try {
    const limit = u8.length;
    let count = 0;
    while (pos < limit) {
      const t = tag(limit);
      if (t >>> 3 === 1) {
        expect(t, LEN, env.resources);
        const sub = subEnd(limit);
        const g = resourceGroup(sub, `${env.resources}[${count++}]`, env);
        if (g !== null) out.push(g);
      } else skip(t & 7, limit);
    }
    return out;
  } catch (e) {
    if (e instanceof Malformed) throw new OtlpDecodeError(`invalid ${env.request} at byte ${pos}: ${e.reason}`);
    throw e;
  } finally {
    end();
  }
}

/**
 * Decodes an ExportTraceServiceRequest. Malformed spans are left out and
 * counted; throws OtlpDecodeError only when the request's structure is broken.
 */
export function decodeTraces(buf: Uint8Array): DecodeResult<TraceBatch> {
  const resourceSpans = request(buf, TRACES) as ResourceSpans[];
  return { batch: { signal: 'traces', resourceSpans }, accepted, rejected, errors: reasons };
}

/**
 * Decodes an ExportLogsServiceRequest. Malformed log records are left out and
 * counted; throws OtlpDecodeError only when the request's structure is broken.
 */
export function decodeLogs(buf: Uint8Array): DecodeResult<LogBatch> {
  const resourceLogs = request(buf, LOGS) as ResourceLogs[];
  return { batch: { signal: 'logs', resourceLogs }, accepted, rejected, errors: reasons };
}
