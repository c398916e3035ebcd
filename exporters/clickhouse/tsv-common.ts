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

// The characters ClickHouse reads back escaped: \\ \t \n \r \0 \b \f and the
// quote. Plain string search, not a RegExp: telemetry meets no backtracking
// engine (invariant 5). Eight native indexOf passes are also 2× the
// one-character-class RegExp's speed on one-byte strings, and 0.68× on
// two-byte ones (non-Latin-1 text), in `npm run bench:tsv-escape`.
const ESCAPES: Readonly<Record<string, string>> = {
  '\\': '\\\\',
  "'": "\\'",
  '\n': '\\n',
  '\t': '\\t',
  '\r': '\\r',
  '\0': '\\0',
  '\b': '\\b',
  '\f': '\\f',
};
const ESCAPED = Object.keys(ESCAPES);
// By character code, for the loop over a string that needs escapes.
const ESCAPE_OF: readonly (string | undefined)[] = Array.from({ length: 128 }, (_, c) => ESCAPES[String.fromCharCode(c)]);

function needsEscape(s: string): boolean {
  for (let k = 0; k < ESCAPED.length; k++) if (s.indexOf(ESCAPED[k]!) >= 0) return true;
  return false;
}

/** A string as ClickHouse's TSV (and quoted) text reads it back byte for byte. */
export function tsvEscape(s: string): string {
  // Most values (ids, names, prompts without quotes) need nothing.
  if (!needsEscape(s)) return s;
  let out = '';
  let from = 0;
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    const e = c < 128 ? ESCAPE_OF[c] : undefined;
    if (e === undefined) continue;
    out += s.slice(from, i) + e;
    from = i + 1;
  }
  return out + s.slice(from);
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
