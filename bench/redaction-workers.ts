// The redaction processor inline (workers: 0) against worker threads, on
// trace batches built from the same corpus as bench/redaction.ts.
//   node --import tsx bench/redaction-workers.ts [--batches 40] [--spans 200]
// Prints MB/s of attribute text through the processor and how much of the
// main thread's time the redaction took (what receivers lose), and ends with
// one JSON line. Batches are submitted 8 at a time, as receivers would.
import { pino } from 'pino';
import type { Batch, KeyValue, Span, TraceBatch } from '../pipeline/model.js';
import { SelfMetrics } from '../pipeline/telemetry/metrics.js';
import { redactionProcessorFactory } from '../processors/redaction/index.js';
import { cleanValue, dirtyValue, rng } from '../test/fixtures/redaction/samples.js';

const arg = (name: string, def: number) => {
  const i = process.argv.indexOf(`--${name}`);
  return i > 0 ? Number(process.argv[i + 1]) : def;
};
const BATCHES = arg('batches', 40);
const SPANS = arg('spans', 200);
const IN_FLIGHT = 8;

function makeBatches(seed: number): { batches: TraceBatch[]; bytes: number } {
  const r = rng(seed);
  let bytes = 0;
  const batches: TraceBatch[] = [];
  for (let b = 0; b < BATCHES; b++) {
    const spans: Span[] = [];
    for (let s = 0; s < SPANS; s++) {
      const attributes: KeyValue[] = [];
      for (let a = 0; a < 8; a++) {
        const v = r() < 0.03 ? dirtyValue(r) : cleanValue(r);
        bytes += Buffer.byteLength(v);
        attributes.push({ key: `attr.${a}`, value: v });
      }
      spans.push({ traceId: 'a'.repeat(32), spanId: 'b'.repeat(16), parentSpanId: '', traceState: '', flags: 1, name: 'step', kind: 1, startTimeUnixNano: 1n, endTimeUnixNano: 2n, attributes, droppedAttributesCount: 0, events: [], droppedEventsCount: 0, links: [], droppedLinksCount: 0, status: { code: 0, message: '' } });
    }
    batches.push({ signal: 'traces', resourceSpans: [{ resource: { attributes: [], droppedAttributesCount: 0 }, schemaUrl: '', scopeSpans: [{ scope: { name: 's', version: '', attributes: [], droppedAttributesCount: 0 }, schemaUrl: '', spans }] }] });
  }
  return { batches, bytes };
}

async function run(workers: number): Promise<{ mbs: number; mainBusyShare: number }> {
  const { batches, bytes } = makeBatches(7);
  const p = redactionProcessorFactory.create(redactionProcessorFactory.configSchema.parse({ workers }), { consume: async (_b: Batch) => {} }, { id: 'redaction', logger: pino({ level: 'silent' }), metrics: new SelfMetrics({ defaultMetrics: false }), dataDir: '/nonexistent' });
  // Warm up (JIT, DFA caches, worker start).
  await Promise.all(makeBatches(8).batches.slice(0, 4).map((b) => p.consume(b)));
  const elu0 = performance.eventLoopUtilization();
  const t0 = process.hrtime.bigint();
  let next = 0;
  await Promise.all(
    Array.from({ length: IN_FLIGHT }, async () => {
      while (next < batches.length) await p.consume(batches[next++]!);
    }),
  );
  const s = Number(process.hrtime.bigint() - t0) / 1e9;
  const elu = performance.eventLoopUtilization(elu0);
  await p.shutdown?.();
  return { mbs: bytes / s / 1e6, mainBusyShare: elu.utilization };
}

const results: Record<string, { mbs: number; mainBusyShare: number }> = {};
for (const w of [0, 1, 2]) {
  results[`workers_${w}`] = await run(w);
  const x = results[`workers_${w}`]!;
  process.stdout.write(`workers: ${w}  ${x.mbs.toFixed(1).padStart(7)} MB/s  main thread busy ${(x.mainBusyShare * 100).toFixed(0)}%\n`);
}
process.stdout.write(JSON.stringify(Object.fromEntries(Object.entries(results).map(([k, v]) => [k, { mb_s: Number(v.mbs.toFixed(1)), main_busy: Number(v.mainBusyShare.toFixed(2)) }]))) + '\n');
