// Pieces shared by the per-table TabSeparated serializers. ClickHouse parses
// TSV into the collector's schema about 2.5× faster than JSONEachRow (no key
// matching per field, no JSON unescaping), and the embedded insert is the
// end-to-end ceiling (bench/RESULTS.md).
//
// One escaping serves both levels: a top-level String field is read with
// ClickHouse's escaped-string rules, and strings inside Map/Array fields with
// its quoted-string rules; both decode \\ \t \n \r \0 \b \f \' the same way,
// and neither level is nested inside the other (no double escaping).
import { anyValueToString, type KeyValue } from '../../pipeline/model.js';
import { hasLaterKey } from './ndjson-common.js';

export { nanosText, TextWriter } from './ndjson-common.js';

// `[\b]` in a character class is the backspace character U+0008.
const NEEDS_ESCAPE = /[\\\t\n\r\0\b\f']/;
const ESCAPE_ALL = /[\\\t\n\r\0\b\f']/g;
const ESCAPES: Record<string, string> = {
  '\\': '\\\\',
  '\t': '\\t',
  '\n': '\\n',
  '\r': '\\r',
  '\0': '\\0',
  '\b': '\\b',
  '\f': '\\f',
  "'": "\\'",
};

/** A string as ClickHouse's TSV (and quoted) text reads it back byte for byte. */
export function tsvEscape(s: string): string {
  // Most values (ids, names, model names) need nothing: test before replacing.
  return NEEDS_ESCAPE.test(s) ? s.replace(ESCAPE_ALL, (c) => ESCAPES[c]!) : s;
}

/** A string inside a Map or Array field: single-quoted. */
export function quoted(s: string): string {
  return "'" + tsvEscape(s) + "'";
}

/**
 * Attributes as the text form of a Map(LowCardinality(String), String):
 * `{'k':'v',…}`, values stringified as the collector's AsString does, and a
 * key that repeats keeps its last value, as the collector's Go map does.
 */
export function mapTsv(attrs: KeyValue[]): string {
  const n = attrs.length;
  if (n === 0) return '{}';
  let out = '{';
  let first = true;
  for (let i = 0; i < n; i++) {
    const kv = attrs[i]!;
    if (hasLaterKey(attrs, i, kv.key)) continue;
    const v = kv.value;
    out += (first ? "'" : ",'") + tsvEscape(kv.key) + "':'" + tsvEscape(typeof v === 'string' ? v : anyValueToString(v)) + "'";
    first = false;
  }
  return out + '}';
}
