// The internal model → OTLP protobuf (ExportTraceServiceRequest /
// ExportLogsServiceRequest), for the Kafka exporter's `otlp_proto` encoding and
// OTLP forwarding, so that a stock collector reads what Sluice writes; plus
// the export responses receivers answer with.
//
// One growable buffer. A sub-message's length is not known until its body is
// written, so one byte is reserved for it and the body is moved right in the
// (less common) case its length needs more: one memmove per large message,
// instead of a second sizing pass that would encode every string twice.
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
  Signal,
  Span,
  TraceBatch,
} from '../model.js';

interface NativeWrite extends Buffer {
  utf8Write(s: string, offset: number, length?: number): number;
}

const VARINT = 0;
const I64 = 1;
const LEN = 2;
const I32 = 5;

let buf: NativeWrite = alloc(64 * 1024);
let dv = new DataView(buf.buffer, buf.byteOffset, buf.byteLength);
let pos = 0;

function alloc(n: number): NativeWrite {
  return Buffer.allocUnsafe(n) as NativeWrite;
}

function ensure(n: number): void {
  if (pos + n <= buf.length) return;
  let size = buf.length * 2;
  while (size < pos + n) size *= 2;
  const next = alloc(size);
  buf.copy(next, 0, 0, pos);
  buf = next;
  dv = new DataView(buf.buffer, buf.byteOffset, buf.byteLength);
}

/** An unsigned value below 2^32. */
function varint(v: number): void {
  ensure(5);
  while (v > 0x7f) {
    buf[pos++] = (v & 0x7f) | 0x80;
    v >>>= 7;
  }
  buf[pos++] = v;
}

function tag(field: number, wireType: number): void {
  varint((field << 3) | wireType);
}

function varint64(v: bigint): void {
  const u = BigInt.asUintN(64, v);
  let lo = Number(u & 0xffffffffn);
  let hi = Number(u >> 32n);
  ensure(10);
  while (hi > 0 || lo > 0x7f) {
    buf[pos++] = (lo & 0x7f) | 0x80;
    lo = ((lo >>> 7) | (hi << 25)) >>> 0;
    hi >>>= 7;
  }
  buf[pos++] = lo;
}

function fixed64(field: number, v: bigint): void {
  if (v === 0n) return;
  tag(field, I64);
  ensure(8);
  dv.setBigUint64(pos, BigInt.asUintN(64, v), true);
  pos += 8;
}

function fixed32(field: number, v: number): void {
  if (v === 0) return;
  tag(field, I32);
  ensure(4);
  dv.setUint32(pos, v >>> 0, true);
  pos += 4;
}

function uint32(field: number, v: number): void {
  if (v === 0) return;
  tag(field, VARINT);
  varint(v >>> 0);
}

function rawString(s: string): void {
  if (s.length < 43) {
    // At most 3 bytes per UTF-16 unit: the length fits one varint byte.
    ensure(1 + s.length * 3);
    const n = buf.utf8Write(s, pos + 1);
    buf[pos] = n;
    pos += 1 + n;
    return;
  }
  const n = Buffer.byteLength(s, 'utf8');
  varint(n);
  ensure(n);
  buf.utf8Write(s, pos, n);
  pos += n;
}

function string(field: number, s: string): void {
  if (s === '') return;
  tag(field, LEN);
  rawString(s);
}

function rawBytes(b: Uint8Array): void {
  varint(b.length);
  ensure(b.length);
  buf.set(b, pos);
  pos += b.length;
}

const HEX_VALUE = new Int8Array(128).fill(-1);
for (let i = 0; i < 10; i++) HEX_VALUE[48 + i] = i;
for (let i = 0; i < 6; i++) HEX_VALUE[97 + i] = HEX_VALUE[65 + i] = 10 + i;

function id(field: number, hex: string, what: string): void {
  if (hex === '') return;
  const n = hex.length >>> 1;
  if (hex.length !== n * 2) throw new Error(`cannot encode ${what}: the id has an odd number of hex digits`);
  tag(field, LEN);
  varint(n);
  ensure(n);
  for (let i = 0; i < n; i++) {
    const a = HEX_VALUE[hex.charCodeAt(2 * i) & 0x7f]!;
    const b = HEX_VALUE[hex.charCodeAt(2 * i + 1) & 0x7f]!;
    if (a < 0 || b < 0 || hex.charCodeAt(2 * i) > 0x7f || hex.charCodeAt(2 * i + 1) > 0x7f) {
      throw new Error(`cannot encode ${what}: the id is not hex`);
    }
    buf[pos++] = (a << 4) | b;
  }
}

/** Starts a length-delimited field; returns where its length goes. */
function open(field: number): number {
  tag(field, LEN);
  ensure(1);
  return pos++;
}

function close(at: number): void {
  const n = pos - at - 1;
  if (n < 0x80) {
    buf[at] = n;
    return;
  }
  let size = 1;
  for (let v = n >>> 7; v > 0; v >>>= 7) size++;
  ensure(size - 1);
  buf.copyWithin(at + size, at + 1, pos);
  pos += size - 1;
  let v = n;
  let p = at;
  while (v > 0x7f) {
    buf[p++] = (v & 0x7f) | 0x80;
    v >>>= 7;
  }
  buf[p] = v;
}

function anyValue(v: AnyValue): void {
  // Oneof members are written even when they hold a default, or the type would be lost.
  switch (typeof v) {
    case 'string':
      tag(1, LEN);
      rawString(v);
      return;
    case 'boolean':
      tag(2, VARINT);
      varint(v ? 1 : 0);
      return;
    case 'bigint':
      tag(3, VARINT);
      varint64(v);
      return;
    case 'number':
      tag(4, I64);
      ensure(8);
      dv.setFloat64(pos, v, true);
      pos += 8;
      return;
    default:
      if (v === null) return;
      if (v instanceof Uint8Array) {
        tag(7, LEN);
        rawBytes(v);
      } else if (Array.isArray(v)) {
        const at = open(5);
        for (const item of v) {
          const vat = open(1);
          anyValue(item);
          close(vat);
        }
        close(at);
      } else {
        const at = open(6);
        keyValues(1, v.kvlist);
        close(at);
      }
  }
}

function keyValues(field: number, kvs: KeyValue[]): void {
  for (let i = 0; i < kvs.length; i++) {
    const kv = kvs[i]!;
    const at = open(field);
    string(1, kv.key);
    const vat = open(2);
    anyValue(kv.value);
    close(vat);
    close(at);
  }
}

function resource(field: number, r: Resource): void {
  const at = open(field);
  keyValues(1, r.attributes);
  uint32(2, r.droppedAttributesCount);
  close(at);
}

function scope(field: number, s: Scope): void {
  const at = open(field);
  string(1, s.name);
  string(2, s.version);
  keyValues(3, s.attributes);
  uint32(4, s.droppedAttributesCount);
  close(at);
}

function finish(): Buffer {
  // A copy: the scratch buffer is reused by the next call.
  const out = Buffer.allocUnsafe(pos);
  buf.copy(out, 0, 0, pos);
  if (buf.length > 4 * 1024 * 1024) {
    buf = alloc(64 * 1024);
    dv = new DataView(buf.buffer, buf.byteOffset, buf.byteLength);
  }
  return out;
}

function span(s: Span): void {
  const at = open(2);
  id(1, s.traceId, 'span trace_id');
  id(2, s.spanId, 'span span_id');
  string(3, s.traceState);
  id(4, s.parentSpanId, 'span parent_span_id');
  string(5, s.name);
  uint32(6, s.kind);
  fixed64(7, s.startTimeUnixNano);
  fixed64(8, s.endTimeUnixNano);
  keyValues(9, s.attributes);
  uint32(10, s.droppedAttributesCount);
  for (const e of s.events) {
    const eat = open(11);
    fixed64(1, e.timeUnixNano);
    string(2, e.name);
    keyValues(3, e.attributes);
    uint32(4, e.droppedAttributesCount);
    close(eat);
  }
  uint32(12, s.droppedEventsCount);
  for (const l of s.links) {
    const lat = open(13);
    id(1, l.traceId, 'link trace_id');
    id(2, l.spanId, 'link span_id');
    string(3, l.traceState);
    keyValues(4, l.attributes);
    uint32(5, l.droppedAttributesCount);
    fixed32(6, l.flags);
    close(lat);
  }
  uint32(14, s.droppedLinksCount);
  if (s.status.code !== 0 || s.status.message !== '') {
    const stat = open(15);
    string(2, s.status.message);
    uint32(3, s.status.code);
    close(stat);
  }
  fixed32(16, s.flags);
  close(at);
}

function logRecord(r: LogRecord): void {
  const at = open(2);
  fixed64(1, r.timeUnixNano);
  uint32(2, r.severityNumber);
  string(3, r.severityText);
  if (r.body !== null) {
    const bat = open(5);
    anyValue(r.body);
    close(bat);
  }
  keyValues(6, r.attributes);
  uint32(7, r.droppedAttributesCount);
  fixed32(8, r.flags);
  id(9, r.traceId, 'log trace_id');
  id(10, r.spanId, 'log span_id');
  fixed64(11, r.observedTimeUnixNano);
  string(12, r.eventName);
  close(at);
}

/**
 * The request envelope, the same field numbers for both signals: resource
 * groups (1) → resource (1), scope groups (2) → scope (1), items (2),
 * schema_url (3) at both levels.
 */
function request(groups: readonly ResourceSpans[] | readonly ResourceLogs[], traces: boolean): Buffer {
  pos = 0;
  for (const rg of groups) {
    const rat = open(1);
    resource(1, rg.resource);
    const scopes = traces ? (rg as ResourceSpans).scopeSpans : (rg as ResourceLogs).scopeLogs;
    for (const sg of scopes) {
      const sat = open(2);
      scope(1, sg.scope);
      if (traces) for (const s of (sg as ScopeSpans).spans) span(s);
      else for (const r of (sg as ScopeLogs).logRecords) logRecord(r);
      string(3, sg.schemaUrl);
      close(sat);
    }
    string(3, rg.schemaUrl);
    close(rat);
  }
  return finish();
}

/** Encodes a trace batch as an ExportTraceServiceRequest. Throws if an id is not hex. */
export function encodeTraces(batch: TraceBatch): Buffer {
  return request(batch.resourceSpans, true);
}

/** Encodes a log batch as an ExportLogsServiceRequest. Throws if an id is not hex. */
export function encodeLogs(batch: LogBatch): Buffer {
  return request(batch.resourceLogs, false);
}

export interface ExportOutcome {
  /** Spans / log records the server did not accept. */
  rejected: number;
  /** Why, for the client's logs; '' when there is nothing to say. */
  errorMessage: string;
}

/**
 * ExportTraceServiceResponse / ExportLogsServiceResponse. `partial_success`
 * (rejected_spans | rejected_log_records = 1, error_message = 2) is set only
 * when something was rejected or there is a message, as the OTLP spec asks;
 * a full success is the empty message (no bytes, or `{}`).
 */
export function encodeExportResponse(signal: Signal, outcome: ExportOutcome, format: 'protobuf'): Buffer;
export function encodeExportResponse(signal: Signal, outcome: ExportOutcome, format: 'json'): string;
export function encodeExportResponse(signal: Signal, outcome: ExportOutcome, format: 'protobuf' | 'json'): Buffer | string;
export function encodeExportResponse(signal: Signal, outcome: ExportOutcome, format: 'protobuf' | 'json'): Buffer | string {
  const rejected = Math.max(0, Math.trunc(outcome.rejected));
  const message = outcome.errorMessage;
  if (format === 'json') {
    if (rejected === 0 && message === '') return '{}';
    const partial: Record<string, string> = {};
    // int64 in proto3 JSON is a decimal string.
    if (rejected > 0) partial[signal === 'traces' ? 'rejectedSpans' : 'rejectedLogRecords'] = String(rejected);
    if (message !== '') partial['errorMessage'] = message;
    return JSON.stringify({ partialSuccess: partial });
  }
  if (rejected === 0 && message === '') return Buffer.alloc(0);
  pos = 0;
  const at = open(1);
  if (rejected > 0) {
    tag(1, VARINT);
    varint64(BigInt(rejected));
  }
  string(2, message);
  close(at);
  return finish();
}
