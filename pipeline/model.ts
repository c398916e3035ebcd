// The internal telemetry model every component speaks. It mirrors OTLP's
// hierarchy (resource → scope → span/log) so that a batch can be re-encoded as
// OTLP without loss (Kafka, forwarding), but normalises what OTLP leaves to the
// encoding: ids are lowercase hex strings, timestamps are bigint nanoseconds,
// and attribute values are plain JS values.
//
// Plain data only: batches cross worker threads by structured clone.

/**
 * An OTLP AnyValue.
 * - string, boolean: as is
 * - number: a double (OTLP `double_value`)
 * - bigint: an int64 (OTLP `int_value`), kept apart from doubles so that
 *   re-encoding preserves the type
 * - Uint8Array: `bytes_value`
 * - AnyValue[]: `array_value`
 * - KvList: `kvlist_value`
 * - null: an AnyValue with no value set
 */
export type AnyValue = string | boolean | number | bigint | Uint8Array | AnyValue[] | KvList | null;

export interface KvList {
  kvlist: KeyValue[];
}

export interface KeyValue {
  key: string;
  value: AnyValue;
}

export interface Resource {
  attributes: KeyValue[];
  droppedAttributesCount: number;
}

export interface Scope {
  name: string;
  version: string;
  attributes: KeyValue[];
  droppedAttributesCount: number;
}

export const SpanKind = {
  UNSPECIFIED: 0,
  INTERNAL: 1,
  SERVER: 2,
  CLIENT: 3,
  PRODUCER: 4,
  CONSUMER: 5,
} as const;

export const StatusCode = { UNSET: 0, OK: 1, ERROR: 2 } as const;

export interface SpanEvent {
  timeUnixNano: bigint;
  name: string;
  attributes: KeyValue[];
  droppedAttributesCount: number;
}

export interface SpanLink {
  traceId: string;
  spanId: string;
  traceState: string;
  attributes: KeyValue[];
  droppedAttributesCount: number;
  flags: number;
}

export interface Span {
  /** 32 lowercase hex characters. */
  traceId: string;
  /** 16 lowercase hex characters. */
  spanId: string;
  /** '' for a root span. */
  parentSpanId: string;
  traceState: string;
  flags: number;
  name: string;
  /** A SpanKind value, 0–5. */
  kind: number;
  startTimeUnixNano: bigint;
  endTimeUnixNano: bigint;
  attributes: KeyValue[];
  droppedAttributesCount: number;
  events: SpanEvent[];
  droppedEventsCount: number;
  links: SpanLink[];
  droppedLinksCount: number;
  status: { code: number; message: string };
}

export interface ScopeSpans {
  scope: Scope;
  spans: Span[];
  schemaUrl: string;
}

export interface ResourceSpans {
  resource: Resource;
  scopeSpans: ScopeSpans[];
  schemaUrl: string;
}

export interface LogRecord {
  timeUnixNano: bigint;
  observedTimeUnixNano: bigint;
  severityNumber: number;
  severityText: string;
  body: AnyValue;
  attributes: KeyValue[];
  droppedAttributesCount: number;
  flags: number;
  /** '' or 32 lowercase hex characters. */
  traceId: string;
  /** '' or 16 lowercase hex characters. */
  spanId: string;
  eventName: string;
}

export interface ScopeLogs {
  scope: Scope;
  logRecords: LogRecord[];
  schemaUrl: string;
}

export interface ResourceLogs {
  resource: Resource;
  scopeLogs: ScopeLogs[];
  schemaUrl: string;
}

export interface TraceBatch {
  signal: 'traces';
  resourceSpans: ResourceSpans[];
}

export interface LogBatch {
  signal: 'logs';
  resourceLogs: ResourceLogs[];
}

export type Batch = TraceBatch | LogBatch;
export type Signal = Batch['signal'];

export function countItems(batch: Batch): number {
  let n = 0;
  if (batch.signal === 'traces') {
    for (const rs of batch.resourceSpans) for (const ss of rs.scopeSpans) n += ss.spans.length;
  } else {
    for (const rl of batch.resourceLogs) for (const sl of rl.scopeLogs) n += sl.logRecords.length;
  }
  return n;
}

/** Concatenates batches of one signal; resources are not merged, which is lossless. */
export function mergeBatches(batches: Batch[]): Batch {
  const first = batches[0];
  if (!first) throw new Error('mergeBatches: no batches');
  if (batches.length === 1) return first;
  if (first.signal === 'traces') {
    const resourceSpans: ResourceSpans[] = [];
    for (const b of batches) if (b.signal === 'traces') resourceSpans.push(...b.resourceSpans);
    return { signal: 'traces', resourceSpans };
  }
  const resourceLogs: ResourceLogs[] = [];
  for (const b of batches) if (b.signal === 'logs') resourceLogs.push(...b.resourceLogs);
  return { signal: 'logs', resourceLogs };
}

export function emptyResource(): Resource {
  return { attributes: [], droppedAttributesCount: 0 };
}

export function emptyScope(): Scope {
  return { name: '', version: '', attributes: [], droppedAttributesCount: 0 };
}

/** The value of a string attribute, or undefined. */
export function stringAttr(attrs: KeyValue[], key: string): string | undefined {
  for (const kv of attrs) if (kv.key === key) return typeof kv.value === 'string' ? kv.value : anyValueToString(kv.value);
  return undefined;
}

const BASE64 = (b: Uint8Array) => Buffer.from(b.buffer, b.byteOffset, b.byteLength).toString('base64');

/**
 * Stringifies an AnyValue the way the OpenTelemetry Collector's
 * `pcommon.Value.AsString()` does, so ClickHouse maps hold the same text the
 * collector's clickhouseexporter would write: ints in decimal, doubles in
 * shortest round-trip form, bytes in base64, arrays and maps as JSON.
 */
export function anyValueToString(v: AnyValue): string {
  switch (typeof v) {
    case 'string':
      return v;
    case 'boolean':
      return v ? 'true' : 'false';
    case 'bigint':
      return v.toString();
    case 'number':
      return formatDouble(v);
    default:
      if (v === null) return '';
      if (v instanceof Uint8Array) return BASE64(v);
      return JSON.stringify(anyValueToJson(v));
  }
}

function formatDouble(v: number): string {
  if (Number.isNaN(v)) return 'NaN';
  if (v === Infinity) return '+Inf';
  if (v === -Infinity) return '-Inf';
  // Go's strconv.FormatFloat(v, 'f', -1, 64): shortest repr, never exponent.
  if (Number.isInteger(v) && Math.abs(v) < 1e21) return v.toFixed(0);
  const s = String(v);
  if (!s.includes('e')) return s;
  return expandExponent(s);
}

function expandExponent(s: string): string {
  const [mant, expStr] = s.split('e') as [string, string];
  const exp = Number(expStr);
  const neg = mant.startsWith('-');
  const digits = mant.replace('-', '').replace('.', '');
  const pointPos = (mant.replace('-', '').indexOf('.') === -1 ? mant.replace('-', '').length : mant.replace('-', '').indexOf('.')) + exp;
  let out: string;
  if (pointPos <= 0) out = '0.' + '0'.repeat(-pointPos) + digits;
  else if (pointPos >= digits.length) out = digits + '0'.repeat(pointPos - digits.length);
  else out = digits.slice(0, pointPos) + '.' + digits.slice(pointPos);
  return (neg ? '-' : '') + out;
}

/** The JSON form the collector uses for nested values (pcommon's AsRaw). */
export function anyValueToJson(v: AnyValue): unknown {
  if (v === null) return null;
  if (typeof v === 'bigint') return Number(v) === Number(v) && Number.isSafeInteger(Number(v)) ? Number(v) : v.toString();
  if (typeof v === 'number') return Number.isFinite(v) ? v : formatDouble(v);
  if (v instanceof Uint8Array) return BASE64(v);
  if (Array.isArray(v)) return v.map(anyValueToJson);
  if (typeof v === 'object') {
    // Go's encoding/json writes map keys sorted; the last of repeated keys wins.
    const last = new Map<string, AnyValue>();
    for (const kv of v.kvlist) last.set(kv.key, kv.value);
    const o: Record<string, unknown> = {};
    for (const key of [...last.keys()].sort()) Object.defineProperty(o, key, { value: anyValueToJson(last.get(key) as AnyValue), enumerable: true, writable: true, configurable: true });
    return o;
  }
  return v;
}

export function isKvList(v: AnyValue): v is KvList {
  return typeof v === 'object' && v !== null && !Array.isArray(v) && !(v instanceof Uint8Array);
}
