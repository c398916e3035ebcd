// What holds a Sluice process's memory, sampled once a second from outside:
// /proc (RSS, anonymous vs file-backed), chDB's own accounting through the
// read-only query port, and, from bench/lib/mem-probe.ts in the process,
// each thread's V8 heap and Buffers. stop() summarizes the sample at peak RSS.
import { appendFileSync, readFileSync } from 'node:fs';
import type { SluiceProcess } from './sluice-process.js';

export interface MemSampler {
  stop(): Promise<string>;
}

interface ProcSample {
  src: 'proc';
  t: number;
  rss: number;
  anon: number;
  file: number;
  chdb: Record<string, number>;
}

interface ThreadSample {
  src: 'thread';
  thread: number;
  t: number;
  heapTotal: number;
  heapUsed: number;
  external: number;
  arrayBuffers: number;
}

const CHDB_SQL = `SELECT metric, value FROM (
  SELECT metric, toFloat64(value) AS value FROM system.metrics WHERE metric IN ('MemoryTracking', 'MergesMutationsMemoryTracking', 'Merge', 'PartMutation', 'BackgroundMergesAndMutationsPoolTask')
  UNION ALL SELECT 'merges_memory_usage', toFloat64(sum(memory_usage)) FROM system.merges
  UNION ALL SELECT 'active_parts', toFloat64(count()) FROM system.parts WHERE active
) FORMAT TSV`;

export function memSampler(s: SluiceProcess, file: string): MemSampler {
  let stopped = false;
  const loop = (async () => {
    while (!stopped) {
      const t = Date.now();
      try {
        const status = readFileSync(`/proc/${s.pid}/status`, 'utf8');
        const kb = (k: string) => Number(new RegExp(`${k}:\\s+(\\d+)`).exec(status)?.[1] ?? 0);
        const chdb: Record<string, number> = {};
        for (const line of (await s.query(CHDB_SQL)).split('\n')) {
          const [k, v] = line.split('\t');
          if (k && v !== undefined) chdb[k] = Number(v);
        }
        Object.assign(chdb, jemalloc(await s.query('SELECT * FROM system.jemalloc_stats FORMAT TSVRaw')));
        const sample: ProcSample = { src: 'proc', t, rss: Math.round(kb('VmRSS') / 1024), anon: Math.round(kb('RssAnon') / 1024), file: Math.round(kb('RssFile') / 1024), chdb };
        appendFileSync(file, JSON.stringify(sample) + '\n');
      } catch {
        /* the process is stopping */
      }
      await new Promise((r) => setTimeout(r, Math.max(0, 1000 - (Date.now() - t))));
    }
  })();
  return {
    async stop() {
      stopped = true;
      await loop;
      return summarize(file);
    },
  };
}

/**
 * chDB has no system.asynchronous_metrics; its jemalloc totals come from the
 * malloc_stats_print text: "Allocated: a, active: b, metadata: c (…),
 * resident: d, mapped: e, retained: f" and the merged arenas' dirty pages.
 */
function jemalloc(text: string): Record<string, number> {
  const out: Record<string, number> = {};
  const totals = /Allocated: (\d+), active: (\d+), metadata: (\d+).*?resident: (\d+), mapped: (\d+), retained: (\d+)/.exec(text);
  if (totals) {
    const [, allocated, active, metadata, resident, mapped, retained] = totals.map(Number);
    Object.assign(out, { 'jemalloc.allocated': allocated, 'jemalloc.active': active, 'jemalloc.metadata': metadata, 'jemalloc.resident': resident, 'jemalloc.mapped': mapped, 'jemalloc.retained': retained });
  }
  const merged = text.indexOf('Merged arenas stats:');
  const dirty = merged >= 0 ? /dirty:\s+\S+\s+(\d+)/.exec(text.slice(merged)) : null;
  if (dirty) out['jemalloc.pdirty'] = Number(dirty[1]);
  return out;
}

const MB = 1048576;

function summarize(file: string): string {
  const lines = readFileSync(file, 'utf8').split('\n').filter(Boolean).map((l) => JSON.parse(l) as ProcSample | ThreadSample);
  const procs = lines.filter((l): l is ProcSample => l.src === 'proc');
  const threads = lines.filter((l): l is ThreadSample => l.src === 'thread');
  if (procs.length === 0) return '  memory: no samples';
  const peak = procs.reduce((a, b) => (b.rss > a.rss ? b : a));
  // Each thread's sample nearest the peak.
  const near = new Map<number, ThreadSample>();
  for (const th of threads) {
    const cur = near.get(th.thread);
    if (!cur || Math.abs(th.t - peak.t) < Math.abs(cur.t - peak.t)) near.set(th.thread, th);
  }
  const ths = [...near.values()].sort((a, b) => a.thread - b.thread);
  const heaps = ths.reduce((a, b) => a + b.heapTotal, 0);
  // arrayBuffers are per isolate, but a transferred or shared buffer may be counted by two; external includes arrayBuffers.
  const ext = ths.reduce((a, b) => a + b.external, 0);
  const c = peak.chdb;
  const tracked = Math.round((c.MemoryTracking ?? 0) / MB);
  const jeRes = Math.round((c['jemalloc.resident'] ?? 0) / MB);
  const jeAlloc = Math.round((c['jemalloc.allocated'] ?? 0) / MB);
  const jeRetained = Math.round((c['jemalloc.retained'] ?? 0) / MB);
  const jeDirty = Math.round(((c['jemalloc.pdirty'] ?? 0) * 4096) / MB);
  const out = [
    `  memory at peak RSS (${peak.rss} MiB: ${peak.anon} anonymous, ${peak.file} file-backed; ${procs.length} samples, ${file}):`,
    `    V8 heaps (heapTotal) ${heaps} MiB over ${ths.length} threads: ${ths.map((t) => `#${t.thread} ${t.heapTotal} (used ${t.heapUsed})`).join(', ')}`,
    `    external (Buffers etc.) ${ext} MiB: ${ths.map((t) => `#${t.thread} ${t.external} (arrayBuffers ${t.arrayBuffers})`).join(', ')}`,
    `    chDB MemoryTracking ${tracked} MiB (merges ${Math.round((c.MergesMutationsMemoryTracking ?? 0) / MB)}, running merges ${c.Merge ?? 0}, active parts ${c.active_parts ?? 0}); jemalloc allocated ${jeAlloc}, resident ${jeRes}, dirty pages ${jeDirty}, retained ${jeRetained} MiB`,
    `    rest (RSS − heaps − external − jemalloc resident): ${peak.rss - heaps - ext - jeRes} MiB`,
  ];
  const maxOf = (k: string) => Math.round(Math.max(...procs.map((p) => p.chdb[k] ?? 0)) / MB);
  out.push(`    maxima over the run: RSS ${peak.rss}, MemoryTracking ${maxOf('MemoryTracking')}, jemalloc resident ${maxOf('jemalloc.resident')}, merges ${maxOf('MergesMutationsMemoryTracking')} MiB; heapTotal ${Math.max(0, ...threads.map((t) => t.heapTotal))}, external ${Math.max(0, ...threads.map((t) => t.external))} MiB (one thread)`);
  return out.join('\n');
}
