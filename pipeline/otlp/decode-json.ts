// OTLP/JSON → the internal model
// (https://opentelemetry.io/docs/specs/otlp/#json-protobuf-encoding).
//
// The OTLP flavour of protobuf's JSON mapping: lowerCamelCase keys (the proto
// snake_case names are accepted too, as protobuf JSON parsers do), trace and
// span ids in hex (not base64), 64-bit integers as decimal strings or numbers,
// enums as numbers or names, bytes in base64, unknown keys ignored, null read
// as "not set".
//
// Isolation mirrors decode-protobuf.ts: a bad span / log record is rejected
// alone, a bad resource or scope rejects its group, and a broken container (a
// `spans` that is not an array, say) fails the request.
//
// Safety: JSON.parse makes `__proto__` an own data property, never a
// prototype; this file only reads fixed, known key names from parsed objects
// and never writes untrusted keys into an object (kvlist keys become
// KeyValue.key strings). No regular expression touches the input.
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

type Obj = Record<string, unknown>;

let accepted = 0;
let rejected = 0;
let reasons: string[] = [];

function reject(count: number, where: string, reason: string): void {
  // A broken resource or scope with no items loses nothing: nothing to report.
  if (count === 0) return;
  rejected += count;
  if (reasons.length < MAX_REASONS) reasons.push(`${where}: ${reason}`);
}

function isObj(v: unknown): v is Obj {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

/** A field by its JSON name or its proto name; null counts as absent. */
function get(o: Obj, camel: string, snake: string): unknown {
  const v = o[camel];
  if (v !== undefined && v !== null) return v;
  const w = o[snake];
  return w === null ? undefined : w;
}

function str(o: Obj, camel: string, snake: string): string {
  const v = get(o, camel, snake);
  if (v === undefined) return '';
  if (typeof v !== 'string') throw new Malformed(`${snake} must be a string`);
  return v;
}

function isDigits(s: string, from: number): boolean {
  if (s.length <= from) return false;
  for (let i = from; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c < 48 || c > 57) return false;
  }
  return true;
}

const TWO_32 = 2 ** 32;
const U64_MAX = (1n << 64n) - 1n;
const I64_MIN = -(1n << 63n);
const I64_MAX = (1n << 63n) - 1n;

function uint32(o: Obj, camel: string, snake: string): number {
  const v = get(o, camel, snake);
  if (v === undefined) return 0;
  if (typeof v === 'number' && Number.isInteger(v) && v >= 0 && v < TWO_32) return v;
  if (typeof v === 'string' && isDigits(v, 0) && v.length <= 10) {
    const n = Number(v);
    if (n < TWO_32) return n;
  }
  throw new Malformed(`${snake} must be an unsigned 32-bit integer`);
}

function fixed64(o: Obj, camel: string, snake: string): bigint {
  const v = get(o, camel, snake);
  if (v === undefined) return 0n;
  if (typeof v === 'number' && Number.isInteger(v) && v >= 0 && v <= 2 ** 64) {
    const b = BigInt(v);
    if (b <= U64_MAX) return b;
  }
  if (typeof v === 'string' && isDigits(v, 0) && v.length <= 20) {
    const b = BigInt(v);
    if (b <= U64_MAX) return b;
  }
  throw new Malformed(`${snake} must be an unsigned 64-bit integer (a decimal string or a number)`);
}

function int64(v: unknown): bigint {
  if (typeof v === 'number' && Number.isInteger(v)) {
    const b = BigInt(v);
    if (b >= I64_MIN && b <= I64_MAX) return b;
  } else if (typeof v === 'string' && isDigits(v, v.charCodeAt(0) === 45 ? 1 : 0) && v.length <= 20) {
    const b = BigInt(v);
    if (b >= I64_MIN && b <= I64_MAX) return b;
  }
  throw new Malformed('int_value must be a signed 64-bit integer (a decimal string or a number)');
}

function isNumeric(s: string): boolean {
  if (s.length === 0) return false;
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    // digits, + - . e E
    if (!((c >= 48 && c <= 57) || c === 43 || c === 45 || c === 46 || c === 101 || c === 69)) return false;
  }
  return true;
}

function double(v: unknown): number {
  if (typeof v === 'number') return v;
  if (typeof v === 'string') {
    if (v === 'NaN') return NaN;
    if (v === 'Infinity') return Infinity;
    if (v === '-Infinity') return -Infinity;
    if (isNumeric(v)) {
      const n = Number(v);
      if (!Number.isNaN(n)) return n;
    }
  }
  throw new Malformed('double_value must be a number, "NaN", "Infinity" or "-Infinity"');
}

function isBase64(s: string): boolean {
  let end = s.length;
  while (end > 0 && s.charCodeAt(end - 1) === 61) end--; // '=' padding
  if (s.length - end > 2) return false;
  for (let i = 0; i < end; i++) {
    const c = s.charCodeAt(i);
    const ok =
      (c >= 65 && c <= 90) || (c >= 97 && c <= 122) || (c >= 48 && c <= 57) || c === 43 || c === 47 || c === 45 || c === 95;
    if (!ok) return false;
  }
  return end % 4 !== 1;
}

function bytes(v: unknown): Uint8Array {
  if (typeof v !== 'string' || !isBase64(v)) throw new Malformed('bytes_value must be a base64 string');
  // Buffer.from may hand out a slice of a shared pool; copy into a plain array.
  return new Uint8Array(Buffer.from(v, 'base64'));
}

function hexId(o: Obj, camel: string, snake: string, size: number): string {
  const v = get(o, camel, snake);
  if (v === undefined || v === '') return '';
  if (typeof v !== 'string') throw new Malformed(`${snake} must be a hex string`);
  if (v.length !== size * 2) throw new Malformed(`${snake} must be ${size * 2} hex digits, got ${v.length} characters`);
  let lower = true;
  for (let i = 0; i < v.length; i++) {
    const c = v.charCodeAt(i);
    if ((c >= 48 && c <= 57) || (c >= 97 && c <= 102)) continue;
    if (c >= 65 && c <= 70) {
      lower = false;
      continue;
    }
    throw new Malformed(`${snake} must be hex (ids are hex in OTLP/JSON, not base64)`);
  }
  return lower ? v : v.toLowerCase();
}

function isZeroId(s: string): boolean {
  for (let i = 0; i < s.length; i++) if (s.charCodeAt(i) !== 48) return false;
  return s.length > 0;
}

const SPAN_KINDS: Record<string, number> = {
  SPAN_KIND_UNSPECIFIED: 0,
  SPAN_KIND_INTERNAL: 1,
  SPAN_KIND_SERVER: 2,
  SPAN_KIND_CLIENT: 3,
  SPAN_KIND_PRODUCER: 4,
  SPAN_KIND_CONSUMER: 5,
};
const STATUS_CODES: Record<string, number> = { STATUS_CODE_UNSET: 0, STATUS_CODE_OK: 1, STATUS_CODE_ERROR: 2 };
const SEVERITIES: Record<string, number> = { SEVERITY_NUMBER_UNSPECIFIED: 0 };
['TRACE', 'DEBUG', 'INFO', 'WARN', 'ERROR', 'FATAL'].forEach((level, i) => {
  SEVERITIES[`SEVERITY_NUMBER_${level}`] = i * 4 + 1;
  for (let k = 2; k <= 4; k++) SEVERITIES[`SEVERITY_NUMBER_${level}${k}`] = i * 4 + k;
});

/** An enum by number or name; numbers without a name read as 0, as in decode-protobuf.ts. */
function enumValue(o: Obj, camel: string, snake: string, names: Record<string, number>, max: number): number {
  const v = get(o, camel, snake);
  if (v === undefined) return 0;
  if (typeof v === 'number' && Number.isInteger(v)) return v >= 0 && v <= max ? v : 0;
  if (typeof v === 'string') {
    if (Object.hasOwn(names, v)) return names[v]!;
    if (isDigits(v, 0)) {
      const n = Number(v);
      return n <= max ? n : 0;
    }
  }
  throw new Malformed(`${snake} must be an enum number or one of its names`);
}

/**
 * A repeated field; anything but an array (or absent / null) is malformed.
 * Where that lands follows the caller: inside an item it rejects the item, for
 * a container (`resourceSpans`, `scopeSpans`, `spans`) it breaks the request.
 */
function array(o: Obj, camel: string, snake: string): unknown[] {
  const v = get(o, camel, snake);
  if (v === undefined) return [];
  if (!Array.isArray(v)) throw new Malformed(`${snake} must be an array`);
  return v;
}

// ---------------------------------------------------------------------------
// common/v1

function anyValue(v: unknown, depth: number): AnyValue {
  if (v === undefined || v === null) return null;
  if (!isObj(v)) throw new Malformed('a value must be an AnyValue object');
  let x = get(v, 'stringValue', 'string_value');
  if (x !== undefined) {
    if (typeof x !== 'string') throw new Malformed('string_value must be a string');
    return x;
  }
  x = get(v, 'boolValue', 'bool_value');
  if (x !== undefined) {
    if (typeof x !== 'boolean') throw new Malformed('bool_value must be true or false');
    return x;
  }
  x = get(v, 'intValue', 'int_value');
  if (x !== undefined) return int64(x);
  x = get(v, 'doubleValue', 'double_value');
  if (x !== undefined) return double(x);
  x = get(v, 'bytesValue', 'bytes_value');
  if (x !== undefined) return bytes(x);
  x = get(v, 'arrayValue', 'array_value');
  if (x !== undefined) {
    if (depth >= MAX_ANY_VALUE_DEPTH) throw new Malformed(`values nest deeper than ${MAX_ANY_VALUE_DEPTH} levels`);
    if (!isObj(x)) throw new Malformed('array_value must be an object with "values"');
    const items = array(x, 'values', 'values');
    const out: AnyValue[] = new Array(items.length);
    for (let i = 0; i < items.length; i++) out[i] = anyValue(items[i], depth + 1);
    return out;
  }
  x = get(v, 'kvlistValue', 'kvlist_value');
  if (x !== undefined) {
    if (depth >= MAX_ANY_VALUE_DEPTH) throw new Malformed(`values nest deeper than ${MAX_ANY_VALUE_DEPTH} levels`);
    if (!isObj(x)) throw new Malformed('kvlist_value must be an object with "values"');
    return { kvlist: keyValues(array(x, 'values', 'values'), depth + 1) };
  }
  return null;
}

function keyValues(items: unknown[], depth: number): KeyValue[] {
  const out: KeyValue[] = new Array(items.length);
  for (let i = 0; i < items.length; i++) {
    const kv = items[i];
    if (!isObj(kv)) throw new Malformed('attributes must hold {key, value} objects');
    out[i] = { key: str(kv, 'key', 'key'), value: anyValue(kv['value'], depth) };
  }
  return out;
}

function attributes(o: Obj): KeyValue[] {
  return keyValues(array(o, 'attributes', 'attributes'), 0);
}

function resource(v: unknown): Resource {
  if (v === undefined || v === null) return { attributes: [], droppedAttributesCount: 0 };
  if (!isObj(v)) throw new Malformed('resource must be an object');
  return { attributes: attributes(v), droppedAttributesCount: uint32(v, 'droppedAttributesCount', 'dropped_attributes_count') };
}

function scope(v: unknown): Scope {
  if (v === undefined || v === null) return { name: '', version: '', attributes: [], droppedAttributesCount: 0 };
  if (!isObj(v)) throw new Malformed('scope must be an object');
  return {
    name: str(v, 'name', 'name'),
    version: str(v, 'version', 'version'),
    attributes: attributes(v),
    droppedAttributesCount: uint32(v, 'droppedAttributesCount', 'dropped_attributes_count'),
  };
}

/** A parsed body, or OtlpDecodeError; the parser's own message can quote the body, so it is not passed on. */
function parse(body: string, what: string): Obj {
  if (typeof body !== 'string') throw new OtlpDecodeError(`${what}: the body must be text`);
  let root: unknown;
  try {
    root = JSON.parse(body);
  } catch {
    throw new OtlpDecodeError(`${what}: the body is not valid JSON`);
  }
  if (!isObj(root)) throw new OtlpDecodeError(`${what}: the body must be a JSON object`);
  accepted = 0;
  rejected = 0;
  reasons = [];
  return root;
}

/** An element of a container array, by the array's proto name. */
function container(v: unknown, field: string): Obj {
  if (!isObj(v)) throw new Malformed(`${field}[] must be an object`);
  return v;
}

// ---------------------------------------------------------------------------
// trace/v1

function span(v: unknown): Span {
  if (!isObj(v)) throw new Malformed('a span must be an object');
  const traceId = hexId(v, 'traceId', 'trace_id', 16);
  if (traceId === '') throw new Malformed('trace_id is missing');
  if (isZeroId(traceId)) throw new Malformed('trace_id is all zeros');
  const spanId = hexId(v, 'spanId', 'span_id', 8);
  if (spanId === '') throw new Malformed('span_id is missing');
  if (isZeroId(spanId)) throw new Malformed('span_id is all zeros');
  let parentSpanId = hexId(v, 'parentSpanId', 'parent_span_id', 8);
  if (isZeroId(parentSpanId)) parentSpanId = '';
  const events: SpanEvent[] = [];
  for (const e of array(v, 'events', 'events')) events.push(spanEvent(e));
  const links: SpanLink[] = [];
  for (const l of array(v, 'links', 'links')) links.push(spanLink(l));
  const st = get(v, 'status', 'status');
  let code = 0;
  let message = '';
  if (st !== undefined) {
    if (!isObj(st)) throw new Malformed('status must be an object');
    code = enumValue(st, 'code', 'code', STATUS_CODES, 2);
    message = str(st, 'message', 'message');
  }
  return {
    traceId,
    spanId,
    parentSpanId,
    traceState: str(v, 'traceState', 'trace_state'),
    flags: uint32(v, 'flags', 'flags'),
    name: str(v, 'name', 'name'),
    kind: enumValue(v, 'kind', 'kind', SPAN_KINDS, 5),
    startTimeUnixNano: fixed64(v, 'startTimeUnixNano', 'start_time_unix_nano'),
    endTimeUnixNano: fixed64(v, 'endTimeUnixNano', 'end_time_unix_nano'),
    attributes: attributes(v),
    droppedAttributesCount: uint32(v, 'droppedAttributesCount', 'dropped_attributes_count'),
    events,
    droppedEventsCount: uint32(v, 'droppedEventsCount', 'dropped_events_count'),
    links,
    droppedLinksCount: uint32(v, 'droppedLinksCount', 'dropped_links_count'),
    status: { code, message },
  };
}

function spanEvent(v: unknown): SpanEvent {
  if (!isObj(v)) throw new Malformed('an event must be an object');
  return {
    timeUnixNano: fixed64(v, 'timeUnixNano', 'time_unix_nano'),
    name: str(v, 'name', 'name'),
    attributes: attributes(v),
    droppedAttributesCount: uint32(v, 'droppedAttributesCount', 'dropped_attributes_count'),
  };
}

function spanLink(v: unknown): SpanLink {
  if (!isObj(v)) throw new Malformed('a link must be an object');
  const traceId = hexId(v, 'traceId', 'trace_id', 16);
  if (traceId === '' || isZeroId(traceId)) throw new Malformed('links.trace_id is missing or all zeros');
  const spanId = hexId(v, 'spanId', 'span_id', 8);
  if (spanId === '' || isZeroId(spanId)) throw new Malformed('links.span_id is missing or all zeros');
  return {
    traceId,
    spanId,
    traceState: str(v, 'traceState', 'trace_state'),
    attributes: attributes(v),
    droppedAttributesCount: uint32(v, 'droppedAttributesCount', 'dropped_attributes_count'),
    flags: uint32(v, 'flags', 'flags'),
  };
}

// ---------------------------------------------------------------------------
// logs/v1

function logRecord(v: unknown): LogRecord {
  if (!isObj(v)) throw new Malformed('a log record must be an object');
  let traceId = hexId(v, 'traceId', 'trace_id', 16);
  if (isZeroId(traceId)) traceId = '';
  let spanId = hexId(v, 'spanId', 'span_id', 8);
  if (isZeroId(spanId)) spanId = '';
  return {
    timeUnixNano: fixed64(v, 'timeUnixNano', 'time_unix_nano'),
    observedTimeUnixNano: fixed64(v, 'observedTimeUnixNano', 'observed_time_unix_nano'),
    severityNumber: enumValue(v, 'severityNumber', 'severity_number', SEVERITIES, 24),
    severityText: str(v, 'severityText', 'severity_text'),
    body: anyValue(get(v, 'body', 'body'), 0),
    attributes: attributes(v),
    droppedAttributesCount: uint32(v, 'droppedAttributesCount', 'dropped_attributes_count'),
    flags: uint32(v, 'flags', 'flags'),
    traceId,
    spanId,
    eventName: str(v, 'eventName', 'event_name'),
  };
}


// ---------------------------------------------------------------------------
// The request envelope, the same for both signals (see envelope.ts); the item
// decoder and the group shapes are picked by `env.traces` with a branch, so
// the per-item call stays direct.

function resourceGroup(o: Obj, where: string, env: Envelope): ResourceSpans | ResourceLogs | null {
  const traces = env.traces;
  const acceptedBefore = accepted;
  const groups: (ScopeSpans | ScopeLogs)[] = [];
  const list = array(o, env.scopesJson, env.scopes);
  for (let si = 0; si < list.length; si++) {
    const sg = container(list[si], env.scopes);
    const swhere = `${where}.${env.scopes}[${si}]`;
    const values = array(sg, env.itemsJson, env.items);
    const items: (Span | LogRecord)[] = [];
    for (let i = 0; i < values.length; i++) {
      try {
        items.push(traces ? span(values[i]) : logRecord(values[i]));
      } catch (e) {
        if (!(e instanceof Malformed)) throw e;
        reject(1, `${swhere}.${env.items}[${i}]`, e.reason);
      }
    }
    let sc: Scope;
    try {
      sc = scope(get(sg, 'scope', 'scope'));
    } catch (e) {
      if (!(e instanceof Malformed)) throw e;
      reject(items.length, `${swhere}.scope`, e.reason);
      continue;
    }
    if (items.length === 0 && values.length > 0) continue;
    accepted += items.length;
    const schemaUrl = str(sg, 'schemaUrl', 'schema_url');
    groups.push(
      traces ? { scope: sc, spans: items as Span[], schemaUrl } : { scope: sc, logRecords: items as LogRecord[], schemaUrl },
    );
  }
  let res: Resource;
  try {
    res = resource(get(o, 'resource', 'resource'));
  } catch (e) {
    if (!(e instanceof Malformed)) throw e;
    const n = accepted - acceptedBefore;
    accepted = acceptedBefore;
    reject(n, `${where}.resource`, e.reason);
    return null;
  }
  if (groups.length === 0 && list.length > 0) return null;
  const schemaUrl = str(o, 'schemaUrl', 'schema_url');
  return traces
    ? { resource: res, scopeSpans: groups as ScopeSpans[], schemaUrl }
    : { resource: res, scopeLogs: groups as ScopeLogs[], schemaUrl };
}

/** The request's resource groups, of the signal `env` names. */
function request(body: string, env: Envelope): (ResourceSpans | ResourceLogs)[] {
  const what = `invalid OTLP/JSON ${env.signal} request`;
  const root = parse(body, what);
  const out: (ResourceSpans | ResourceLogs)[] = [];
  try {
    const list = array(root, env.resourcesJson, env.resources);
    for (let i = 0; i < list.length; i++) {
      const g = resourceGroup(container(list[i], env.resources), `${env.resources}[${i}]`, env);
      if (g !== null) out.push(g);
    }
  } catch (e) {
    if (e instanceof Malformed) throw new OtlpDecodeError(`${what}: ${e.reason}`);
    throw e;
  }
  return out;
}

/** Decodes an OTLP/JSON ExportTraceServiceRequest; see decodeTraces for the contract. */
export function decodeTracesJson(body: string): DecodeResult<TraceBatch> {
  const resourceSpans = request(body, TRACES) as ResourceSpans[];
  return { batch: { signal: 'traces', resourceSpans }, accepted, rejected, errors: reasons };
}

/** Decodes an OTLP/JSON ExportLogsServiceRequest; see decodeLogs for the contract. */
export function decodeLogsJson(body: string): DecodeResult<LogBatch> {
  const resourceLogs = request(body, LOGS) as ResourceLogs[];
  return { batch: { signal: 'logs', resourceLogs }, accepted, rejected, errors: reasons };
}
