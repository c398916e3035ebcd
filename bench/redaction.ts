// Redaction throughput on a generated agent-telemetry corpus (fixed seed):
// prompts, chat-message and tool-call JSON, SQL, log lines, headers, stack
// traces, multilingual text, ids; about 3% of values hold a secret or PII.
//   node --import tsx bench/redaction.ts [--mb 2] [--rounds 7] [--warmup 12] [--trace 1]
// Prints MB/s on one core for
//   engine   — createRedactor().redactString per value (Set prefilter, rules,
//              validators, JSON-in-string, replacement): what the processor does
//   keywords — the same engine with keyword prefiltering instead of the Set
//   naive    — every rule as its own V8 RegExp, applied one after another
//   floor    — one bare pass of the engine's RE2.Set over each value, nothing else
//   floor_full — the same with a Set of the rules' full patterns
// and the share of clean values that get past the prefilter (per rule), and
// ends with one JSON line. All run on one thread: MB/s per core.
import RE2 from 're2';
import { createRedactor } from '../processors/redaction/index.js';
import { Tally } from '../processors/redaction/redactor.js';
import { validators } from '../processors/redaction/validators.js';
import { cleanValue, dirtyValue, rng } from '../test/fixtures/redaction/samples.js';

const arg = (name: string, def: number) => {
  const i = process.argv.indexOf(`--${name}`);
  return i > 0 ? Number(process.argv[i + 1]) : def;
};
const TARGET_MB = arg('mb', 2);
const ROUNDS = arg('rounds', 7);
// The engine reaches its steady rate after about ten 2 MB corpora (its
// per-rule automata see only the 4–5 % of values the Set flags, so their DFA
// states fill slowly); the floor after one or two. Four corpora left the
// engine measured on its way up (--trace 1 prints each round's rates).
const WARMUP = arg('warmup', 12);
const TRACE = arg('trace', 0) > 0;
const DIRTY = 0.03;

function corpus(seed: number): { values: string[]; bytes: number } {
  const r = rng(seed);
  const values: string[] = [];
  let bytes = 0;
  while (bytes < TARGET_MB * 1e6) {
    const v = r() < DIRTY ? dirtyValue(r) : cleanValue(r);
    values.push(v);
    bytes += Buffer.byteLength(v);
  }
  return { values, bytes };
}

// Every pass runs over text the variant has not seen: RE2 builds its DFA
// lazily and caches states, so a pass repeated over the same text measures
// the cache, not the engine (a Set of the full patterns: 30–75 MB/s on fresh
// text, 190 MB/s repeated). Each round generates a fresh corpus; the variants
// take turns on it (same load for all); the median of the rounds counts.
interface Variant {
  name: string;
  run: (values: string[]) => void;
  rates: number[];
}

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s.length % 2 ? s[s.length >> 1]! : (s[s.length / 2 - 1]! + s[s.length / 2]!) / 2;
}

function measureAll(variants: Variant[]): void {
  // Warm-up on other text, as a collector that has been running a while:
  // JIT, and DFA states for the kinds of text (not the texts) it will see.
  for (let w = 0; w < WARMUP; w++) {
    const warm = corpus(1 + w);
    for (const v of variants) {
      const t0 = process.hrtime.bigint();
      v.run(warm.values);
      if (TRACE) process.stderr.write(`warm-up ${w} ${v.name} ${(warm.bytes / (Number(process.hrtime.bigint() - t0) / 1e9) / 1e6).toFixed(1)} MB/s\n`);
    }
  }
  for (let round = 0; round < ROUNDS; round++) {
    const { values, bytes } = corpus(100 + round);
    for (let i = 0; i < variants.length; i++) {
      const v = variants[(i + round) % variants.length]!;
      const t0 = process.hrtime.bigint();
      v.run(values);
      v.rates.push(bytes / (Number(process.hrtime.bigint() - t0) / 1e9) / 1e6);
      if (TRACE) process.stderr.write(`round ${round} ${v.name} ${v.rates.at(-1)!.toFixed(1)} MB/s\n`);
    }
  }
  for (const v of variants) process.stdout.write(`${v.name.padEnd(14)} ${median(v.rates).toFixed(1).padStart(8)} MB/s on one core (median of ${v.rates.length} fresh corpora; min ${Math.min(...v.rates).toFixed(1)}, max ${Math.max(...v.rates).toFixed(1)})\n`);
}

/** RE2 syntax → V8: named groups and a leading (?i). */
function toV8(pattern: string): RegExp {
  let p = pattern.replace(/\(\?P</g, '(?<');
  let flags = 'gu';
  if (p.startsWith('(?i)')) {
    p = p.slice(4);
    flags += 'i';
  }
  return new RegExp(p, flags);
}

const { values, bytes } = corpus(1337);
process.stdout.write(`corpus: ${ROUNDS} fresh corpora of ${values.length} values, ${(bytes / 1e6).toFixed(1)} MB, ${(bytes / values.length).toFixed(0)} bytes/value on average, ~${DIRTY * 100}% sensitive\n`);

const redactor = createRedactor({});
const kwRedactor = createRedactor({}, { prefilter: 'keywords' });
const specs = redactor.rules;

// Sanity: the engine does redact this corpus.
const probe = new Tally();
for (const v of values) redactor.redactString(v, probe);
process.stdout.write(`engine redacts ${probe.count} values of ${probe.types.size} types in one pass\n`);

// How often clean text gets past the prefilter: each such value pays
// Set.match and the reported rules' searches for nothing (or for a
// look-alike the validators reject).
const prefilterSet = new RE2.Set(specs.map((s) => s.prefilter ?? s.pattern), { maxMem: 128 * 1024 * 1024 });
const cleanHits = new Map<string, number>();
let cleanHit = 0;
const CLEAN_SAMPLE = 20_000;
{
  const r = rng(4711);
  for (let i = 0; i < CLEAN_SAMPLE; i++) {
    const hit = prefilterSet.match(cleanValue(r));
    if (hit.length > 0) cleanHit++;
    for (const h of hit) cleanHits.set(specs[h]!.name, (cleanHits.get(specs[h]!.name) ?? 0) + 1);
  }
}
const pct = (n: number) => (100 * n) / CLEAN_SAMPLE;
process.stdout.write(
  `clean values past the prefilter: ${pct(cleanHit).toFixed(2)}% of ${CLEAN_SAMPLE} (${[...cleanHits].sort((a, b) => b[1] - a[1]).map(([k, n]) => `${k} ${pct(n).toFixed(2)}%`).join(', ') || 'none'})\n`,
);

const variant = (name: string, run: (values: string[]) => void): Variant => ({ name, run, rates: [] });
const engineV = variant('engine', (values) => {
  const t = new Tally();
  for (const v of values) redactor.redactString(v, t);
});
const keywordsV = variant('keywords', (values) => {
  const t = new Tally();
  for (const v of values) kwRedactor.redactString(v, t);
});

const naiveRules = specs.map((s) => ({ re: toV8(s.pattern), spec: s, validate: s.validator ? validators[s.validator] : undefined }));
const naiveV = variant('naive', (values) => {
  for (let v of values) {
    for (const { re, spec, validate } of naiveRules) {
      v = v.replace(re, (m: string, ...rest: unknown[]) => {
        const groups = rest[rest.length - 1] as Record<string, string> | undefined;
        const value = spec.group && groups && typeof groups === 'object' ? (groups[spec.group] ?? m) : m;
        if (validate && !validate(value, spec.minEntropy)) return m;
        return spec.group ? m.replace(value, `[REDACTED:${spec.type}]`) : `[REDACTED:${spec.type}]`;
      });
    }
  }
});

// The floor: the engine's own Set (the rules' prefilters), one pass per
// value, nothing else. And, for comparison, a Set of the full patterns.
const scratch = Buffer.allocUnsafe(4 * 1024 * 1024);
const setPass = (set: InstanceType<typeof RE2.Set>) => (values: string[]) => {
  for (const v of values) {
    const n = scratch.write(v, 0, 'utf8');
    set.test(scratch.subarray(0, n));
  }
};
const floorV = variant('floor', setPass(new RE2.Set(specs.map((s) => s.prefilter ?? s.pattern), { maxMem: 128 * 1024 * 1024 })));
const floorFullV = variant('floor_full', setPass(new RE2.Set(specs.map((s) => s.pattern), { maxMem: 128 * 1024 * 1024 })));
measureAll([engineV, keywordsV, naiveV, floorV, floorFullV]);
const [engine, keywords, naive, floor, floorFull] = [engineV, keywordsV, naiveV, floorV, floorFullV].map((v) => median(v.rates)) as [number, number, number, number, number];

const f1 = (x: number) => Number(x.toFixed(1));
process.stdout.write(
  `engine/naive ${(engine / naive).toFixed(2)}x, floor/engine ${(floor / engine).toFixed(2)}x, engine/floor_full ${(engine / floorFull).toFixed(2)}x, keywords/engine ${(keywords / engine).toFixed(2)}x\n`,
);
process.stdout.write(
  JSON.stringify({
    engine_mb_s_per_core: f1(engine),
    naive_mb_s_per_core: f1(naive),
    floor_mb_s_per_core: f1(floor),
    floor_full_patterns_mb_s_per_core: f1(floorFull),
    keywords_mb_s_per_core: f1(keywords),
    engine_vs_naive: Number((engine / naive).toFixed(2)),
    floor_vs_engine: Number((floor / engine).toFixed(2)),
    clean_prefilter_hit_pct: Number(pct(cleanHit).toFixed(2)),
  }) + '\n',
);
