// Pieces shared by the per-table JSONEachRow serializers. The hot path:
// every span or log record of every batch passes through here, so values are
// appended to one string with JSON.stringify used only where escaping may be
// needed (strings, map keys and values), fastify/pino style.
import { anyValueToString, type KeyValue } from '../../pipeline/model.js';

const NINE_ZEROS = '000000000';
const FLUSH_CHARS = 64 * 1024;

/**
 * Accumulates row text (JSONEachRow or TSV) and encodes it to UTF-8 every 64 KiB, so that the
 * strings built per row stay small and short-lived: one string for a whole
 * batch of megabytes costs more in GC and flattening than the encoding.
 */
export class TextWriter {
  private text = '';
  private readonly chunks: Buffer[] = [];
  private bytes = 0;

  push(s: string): void {
    this.text += s;
    if (this.text.length >= FLUSH_CHARS) this.flush();
  }

  private flush(): void {
    if (this.text === '') return;
    const b = Buffer.from(this.text, 'utf8');
    this.chunks.push(b);
    this.bytes += b.length;
    this.text = '';
  }

  /** The whole body, in a Buffer that owns its memory (transferable to the store worker). */
  finish(): Buffer {
    this.flush();
    if (this.chunks.length === 1 && this.chunks[0]!.byteOffset === 0 && this.chunks[0]!.buffer.byteLength === this.bytes) return this.chunks[0]!;
    const out = Buffer.allocUnsafeSlow(this.bytes);
    let off = 0;
    for (const c of this.chunks) {
      c.copy(out, off);
      off += c.length;
    }
    return out;
  }
}

/**
 * A bigint nanosecond timestamp as the "seconds.nanoseconds" text that
 * ClickHouse parses into DateTime64(9) without losing precision.
 */
export function nanosText(ns: bigint): string {
  if (ns <= 0n) return '0.000000000';
  const s = ns.toString();
  if (s.length > 9) return s.slice(0, s.length - 9) + '.' + s.slice(s.length - 9);
  return '0.' + NINE_ZEROS.slice(s.length) + s;
}

/**
 * Attributes as a JSON object for a Map(LowCardinality(String), String)
 * column: values stringified as the collector's AsString does, and a key
 * that repeats keeps its last value, as the collector's Go map does.
 */
export function mapJson(attrs: KeyValue[]): string {
  const n = attrs.length;
  if (n === 0) return '{}';
  let out = '{';
  let first = true;
  for (let i = 0; i < n; i++) {
    const kv = attrs[i]!;
    if (hasLaterKey(attrs, i, kv.key)) continue;
    const v = kv.value;
    out += (first ? '' : ',') + JSON.stringify(kv.key) + ':' + JSON.stringify(typeof v === 'string' ? v : anyValueToString(v));
    first = false;
  }
  return out + '}';
}

/** True when a later entry has the same key (the later one wins). */
export function hasLaterKey(attrs: KeyValue[], i: number, key: string): boolean {
  // Attribute lists are short; a scan beats allocating a Set per map.
  for (let j = i + 1; j < attrs.length; j++) if (attrs[j]!.key === key) return true;
  return false;
}

export function jsonString(s: string): string {
  return JSON.stringify(s);
}
