// Scores detection quality on the labeled set (test/fixtures/redaction/eval.jsonl)
// through the same code path as `sluice redact --findings`.
//   node --import tsx bench/redaction-eval.ts [--verbose] [--seed N]
// With --seed, scores a freshly generated set of another seed instead (a
// holdout: the committed set is the one the rules were tuned against).
// A finding matches a labeled span when the types agree and the two spans
// overlap by at least half of their union (IoU ≥ 0.5); each label matches
// at most one finding. Prints precision and recall per type and overall, and
// ends with one JSON line.
import { readFileSync } from 'node:fs';
import { findingsLine } from '../cli/commands/redact.js';
import { createRedactor } from '../processors/redaction/index.js';
import { buildEvalSet, EVAL_PATH, type EvalRecord, type EvalSpan } from './redaction-evalset.js';

interface Counts {
  tp: number;
  fp: number;
  fn: number;
}

function iou(a: EvalSpan, b: EvalSpan): number {
  const inter = Math.min(a.end, b.end) - Math.max(a.start, b.start);
  if (inter <= 0) return 0;
  return inter / (Math.max(a.end, b.end) - Math.min(a.start, b.start));
}

const verbose = process.argv.includes('--verbose');
const seedArg = process.argv.indexOf('--seed');
const records: EvalRecord[] =
  seedArg > 0
    ? buildEvalSet(Number(process.argv[seedArg + 1]))
    : readFileSync(EVAL_PATH, 'utf8')
        .split('\n')
        .filter((l) => l.trim() !== '')
        .map((l) => JSON.parse(l) as EvalRecord);

const redactor = createRedactor({});
const byType = new Map<string, Counts>();
const c = (t: string): Counts => {
  let x = byType.get(t);
  if (!x) byType.set(t, (x = { tp: 0, fp: 0, fn: 0 }));
  return x;
};

records.forEach((rec, i) => {
  const predicted = (JSON.parse(findingsLine(redactor, JSON.stringify({ text: rec.text }), i + 1)) as { findings: EvalSpan[] }).findings;
  const used = new Set<number>();
  for (const g of rec.spans) {
    const j = predicted.findIndex((p, k) => !used.has(k) && p.type === g.type && iou(p, g) >= 0.5);
    if (j >= 0) {
      used.add(j);
      c(g.type).tp++;
    } else {
      c(g.type).fn++;
      if (verbose) process.stderr.write(`FN ${g.type} #${i + 1}: ${JSON.stringify(rec.text.slice(g.start, g.end)).slice(0, 100)} found=${JSON.stringify(predicted.map((p) => [p.type, rec.text.slice(p.start, p.end).slice(0, 40)]))}\n`);
    }
  }
  predicted.forEach((p, k) => {
    if (used.has(k)) return;
    c(p.type).fp++;
    if (verbose) process.stderr.write(`FP ${p.type} #${i + 1} (${rec.kind}): ${JSON.stringify(rec.text.slice(p.start, p.end)).slice(0, 100)} in ${JSON.stringify(rec.text).slice(0, 140)}\n`);
  });
});

const ratio = (a: number, b: number) => (b === 0 ? 1 : a / b);
const rows = [...byType.entries()].sort(([a], [b]) => a.localeCompare(b));
let total: Counts = { tp: 0, fp: 0, fn: 0 };
const perType: Record<string, { precision: number; recall: number; support: number }> = {};
process.stdout.write(`${'type'.padEnd(20)} ${'precision'.padStart(9)} ${'recall'.padStart(7)} ${'support'.padStart(8)}   tp   fp   fn\n`);
for (const [t, x] of rows) {
  total = { tp: total.tp + x.tp, fp: total.fp + x.fp, fn: total.fn + x.fn };
  const p = ratio(x.tp, x.tp + x.fp);
  const r = ratio(x.tp, x.tp + x.fn);
  perType[t] = { precision: Number(p.toFixed(4)), recall: Number(r.toFixed(4)), support: x.tp + x.fn };
  process.stdout.write(`${t.padEnd(20)} ${p.toFixed(3).padStart(9)} ${r.toFixed(3).padStart(7)} ${String(x.tp + x.fn).padStart(8)} ${String(x.tp).padStart(4)} ${String(x.fp).padStart(4)} ${String(x.fn).padStart(4)}\n`);
}
const P = ratio(total.tp, total.tp + total.fp);
const R = ratio(total.tp, total.tp + total.fn);
const minP = Math.min(...Object.values(perType).map((v) => v.precision));
const minR = Math.min(...Object.values(perType).map((v) => v.recall));
process.stdout.write(`${'overall'.padEnd(20)} ${P.toFixed(3).padStart(9)} ${R.toFixed(3).padStart(7)} ${String(total.tp + total.fn).padStart(8)}   (${records.length} records)\n`);
process.stdout.write(
  JSON.stringify({ records: records.length, precision: Number(P.toFixed(4)), recall: Number(R.toFixed(4)), min_type_precision: minP, min_type_recall: minR, per_type: perType }) + '\n',
);
