// TSV escaping of the strings the ClickHouse exporter writes (names, keys,
// attribute values of bench:e2e's agent spans): tsvEscape (native indexOf
// passes, then a character loop for the ~1 % that need escapes) against the
// one-character-class V8 RegExp it replaced. Each variant runs in a fresh
// process (one call site, one JIT history), taking turns; `--two-byte` adds
// non-Latin-1 characters to every string, which V8 then stores two bytes per
// character. Prints MB/s (million characters per second), then one JSON line.
//   node --import tsx bench/tsv-escape.ts [--rounds=3] [--two-byte]
import { execFileSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { tsvEscape } from '../exporters/clickhouse/tsv-common.js';
import { anyValueToString } from '../pipeline/model.js';
import { agentSpans } from './lib/agent-traffic.js';

const TWO_BYTE = process.argv.includes('--two-byte');
const ROUNDS = Number(process.argv.find((a) => a.startsWith('--rounds='))?.split('=')[1] ?? 3);
const only = process.env.TSV_ESCAPE_VARIANT;

if (only) {
  const extra = TWO_BYTE ? ' ü日本' : '';
  const strs: string[] = [];
  for (let i = 0; i < 40; i++) {
    for (const rs of agentSpans({ seed: i, perRequest: 500 }, i).resourceSpans) {
      for (const ss of rs.scopeSpans) {
        for (const sp of ss.spans) {
          strs.push(sp.name + extra);
          for (const kv of sp.attributes) strs.push(kv.key, (typeof kv.value === 'string' ? kv.value : anyValueToString(kv.value)) + extra);
        }
      }
    }
  }
  const NEEDS_ESCAPE = /[\\\t\n\r\0\b\f']/;
  const ESCAPE_ALL = /[\\\t\n\r\0\b\f']/g;
  const ESCAPES: Record<string, string> = { '\\': '\\\\', '\t': '\\t', '\n': '\\n', '\r': '\\r', '\0': '\\0', '\b': '\\b', '\f': '\\f', "'": "\\'" };
  const regexp = (s: string) => (NEEDS_ESCAPE.test(s) ? s.replace(ESCAPE_ALL, (c) => ESCAPES[c]!) : s);
  const f = only === 'regexp' ? regexp : tsvEscape;
  let chars = 0;
  for (const s of strs) {
    chars += s.length;
    if (regexp(s) !== tsvEscape(s)) throw new Error(`the two escape ${JSON.stringify(s)} differently`);
  }
  const rates: number[] = [];
  for (let r = 0; r < 12; r++) {
    let sink = 0;
    const t0 = process.hrtime.bigint();
    for (const s of strs) sink += f(s).length;
    if (sink < chars) throw new Error('escaping shortened a string');
    if (r >= 2) rates.push((chars / Number(process.hrtime.bigint() - t0)) * 1000);
  }
  rates.sort((a, b) => a - b);
  process.stdout.write(String(rates[rates.length >> 1]));
} else {
  const self = fileURLToPath(import.meta.url);
  const runs: Record<string, number[]> = { regexp: [], tsvEscape: [] };
  for (let r = 0; r < ROUNDS; r++) {
    for (const v of r % 2 ? ['tsvEscape', 'regexp'] : ['regexp', 'tsvEscape']) {
      const out = execFileSync(process.execPath, ['--import', 'tsx', self, ...process.argv.slice(2)], { env: { ...process.env, TSV_ESCAPE_VARIANT: v } });
      runs[v]!.push(Number(out.toString()));
    }
  }
  const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[xs.length >> 1]!;
  for (const [k, xs] of Object.entries(runs)) process.stdout.write(`${k.padEnd(10)} ${median(xs).toFixed(0)} MB/s (runs: ${xs.map((x) => x.toFixed(0)).join(', ')})${TWO_BYTE ? ', two-byte strings' : ''}\n`);
  const [re, te] = [median(runs.regexp!), median(runs.tsvEscape!)];
  process.stdout.write(JSON.stringify({ bench: 'tsv-escape', two_byte: TWO_BYTE, regexp_mb_s: Math.round(re), tsv_escape_mb_s: Math.round(te), tsv_escape_vs_regexp: Number((te / re).toFixed(2)) }) + '\n');
}
