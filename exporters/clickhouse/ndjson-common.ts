// Pieces shared by the per-table JSONEachRow serializers. The hot path:
// every span or log record of every batch passes through here, so values are
// appended to one string with JSON.stringify used only where escaping may be
// needed (strings, map keys and values), fastify/pino style.
import { anyValueToString, type KeyValue } from '../../pipeline/model.js';

const NINE_ZEROS = '000000000';

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
