// Writes the OTLP/HTTP protobuf request bodies of bench/e2e.ts's load
// generator (bench/lib/agent-traffic.ts, same seeds and sizes) to files, so
// that wrk (otlp.lua) posts exactly the same traffic.
//   node --import tsx bench/wrk/make-payloads.ts [--out=bench/wrk/payloads] [--per-request=500] [--distinct=32]
import { mkdir, readdir, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { logPayloads, tracePayloads } from '../lib/agent-traffic.js';

const arg = (name: string, def: string) => process.argv.find((a) => a.startsWith(`--${name}=`))?.split('=')[1] ?? def;
const OUT = arg('out', join(import.meta.dirname, 'payloads'));
const PER_REQUEST = Number(arg('per-request', '500'));
const DISTINCT = Number(arg('distinct', '32'));
const SEED = 42; // bench/e2e.ts's loadgen seed; logs use seed + 1, as loadgen.ts does

await mkdir(OUT, { recursive: true });
for (const f of await readdir(OUT)) if (/^(traces|logs)-\d+\.pb$/.test(f)) await rm(join(OUT, f));
const traces = tracePayloads({ seed: SEED, perRequest: PER_REQUEST }, DISTINCT);
const logs = logPayloads({ seed: SEED + 1, perRequest: PER_REQUEST }, Math.max(4, DISTINCT >> 2));
const name = (kind: string, i: number) => `${kind}-${String(i).padStart(3, '0')}.pb`;
await Promise.all(traces.bodies.map((b, i) => writeFile(join(OUT, name('traces', i)), b)));
await Promise.all(logs.bodies.map((b, i) => writeFile(join(OUT, name('logs', i)), b)));
// The Lua script reads the counts and the items per body from here.
await writeFile(join(OUT, 'manifest.txt'), `traces ${traces.bodies.length} ${PER_REQUEST}\nlogs ${logs.bodies.length} ${PER_REQUEST}\n`);
console.log(
  `${traces.bodies.length} trace bodies (${traces.bytesPerItem} B/span) and ${logs.bodies.length} log bodies (${logs.bytesPerItem} B/record), ${PER_REQUEST} items each, in ${OUT}`,
);
