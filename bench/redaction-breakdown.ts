// Where the redaction engine's time goes beyond the floor, per value of the
// bench:redaction corpus (fresh corpora, same generator): the bare Set pass
// (the floor), the engine's probe (Set test, then which rules for a flagged
// value, the JSON key trigger), probe + the rules' findings, and the whole
// redactString (JSON handling, replacement, tally). Each step runs on its own
// engine instance, so no step warms another's DFA caches; the steps take
// turns on each corpus. Ends with one JSON line.
//   node --import tsx bench/redaction-breakdown.ts [--rounds=40] [--values=15000]
import RE2 from 're2';
import { redactionConfigSchema } from '../processors/redaction/config.js';
import { compileEngine } from '../processors/redaction/engine.js';
import { looksLikeJson } from '../processors/redaction/json.js';
import { jsonKeyTrigger } from '../processors/redaction/keys.js';
import { createRedactor, Tally } from '../processors/redaction/redactor.js';
import { cleanValue, dirtyValue, rng } from '../test/fixtures/redaction/samples.js';

const arg = (name: string, def: number) => Number(process.argv.find((a) => a.startsWith(`--${name}=`))?.split('=')[1] ?? def);
const ROUNDS = arg('rounds', 40);
const VALUES = arg('values', 15_000);
const WARMUP = 6;

const redactor = createRedactor({});
const trigger = jsonKeyTrigger(redactionConfigSchema.parse({}).key_rules.block);
const engine = () => compileEngine(redactor.rules, { triggers: trigger ? [trigger] : [] });
const probeOnly = engine();
const withFindings = engine();
const floorSet = new RE2.Set(redactor.rules.map((s) => s.prefilter ?? s.pattern), { maxMem: 128 * 1024 * 1024 });
const scratch = Buffer.allocUnsafe(4 * 1024 * 1024);

const steps: Record<string, (values: string[]) => void> = {
  floor: (values) => {
    for (const v of values) floorSet.test(scratch.subarray(0, scratch.write(v, 0, 'utf8')));
  },
  probe: (values) => {
    for (const v of values) probeOnly.probe(v, looksLikeJson(v));
  },
  probe_findings: (values) => {
    for (const v of values) {
      const hits = withFindings.probe(v, looksLikeJson(v));
      if (hits.length > 0) withFindings.findingsFor(v, hits);
    }
  },
  redact_string: (values) => {
    const t = new Tally();
    for (const v of values) redactor.redactString(v, t);
  },
};

const names = Object.keys(steps);
const ns: Record<string, number> = Object.fromEntries(names.map((n) => [n, 0]));
let counted = 0;
for (let round = 0; round < WARMUP + ROUNDS; round++) {
  const r = rng(1000 + round);
  const values: string[] = [];
  for (let i = 0; i < VALUES; i++) values.push(r() < 0.03 ? dirtyValue(r) : cleanValue(r));
  for (let k = 0; k < names.length; k++) {
    const name = names[(k + round) % names.length]!;
    const t0 = process.hrtime.bigint();
    steps[name]!(values);
    if (round >= WARMUP) ns[name]! += Number(process.hrtime.bigint() - t0);
  }
  if (round >= WARMUP) counted += values.length;
}
const us = (n: string) => ns[n]! / counted / 1000;
for (const n of names) process.stdout.write(`${n.padEnd(15)} ${us(n).toFixed(3)} µs per value, ${(us(n) / us('floor')).toFixed(2)}× the floor\n`);
const x = (n: string) => Number((us(n) / us('floor')).toFixed(2));
process.stdout.write(
  JSON.stringify({
    bench: 'redaction-breakdown',
    floor_us_per_value: Number(us('floor').toFixed(3)),
    probe_vs_floor: x('probe'),
    probe_findings_vs_floor: x('probe_findings'),
    redact_string_vs_floor: x('redact_string'),
  }) + '\n',
);
