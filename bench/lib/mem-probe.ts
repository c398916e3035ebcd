// Preloaded into a Sluice process (`node --import <this file>`) by
// `bench/e2e.ts --mem-log=FILE`: every thread appends its own
// process.memoryUsage() to $SLUICE_MEM_PROBE twice a second, so the JS side
// of RSS (heaps, Buffers) can be set against the process's RSS; the rest is
// native (chDB). Bench-only: no Sluice code reads it.
import { appendFileSync } from 'node:fs';
import { threadId } from 'node:worker_threads';

const file = process.env.SLUICE_MEM_PROBE;
if (file) {
  const mb = (n: number) => Math.round(n / 1048576);
  setInterval(() => {
    const m = process.memoryUsage();
    const line = { src: 'thread', thread: threadId, t: Date.now(), heapTotal: mb(m.heapTotal), heapUsed: mb(m.heapUsed), external: mb(m.external), arrayBuffers: mb(m.arrayBuffers) };
    appendFileSync(file, JSON.stringify(line) + '\n');
  }, 500).unref();
}
