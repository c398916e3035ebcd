// The load generator of the end-to-end benchmarks, run as its own process
// (fork) so that its CPU is not the pipeline's event loop. It builds the agent
// payloads once, then on command posts them over OTLP/HTTP protobuf:
//   closed: `connections` clients each send back to back (maximum rate);
//   open:   requests leave on a fixed schedule (`rate` per second) whatever
//           the answers, and latency counts from the scheduled time, so a
//           stall is not hidden by the generator waiting (no coordinated omission).
// A 503/429 is backpressure: counted, and the client waits before retrying.
// Talks to its parent over IPC: { op: 'run', ... } → RunReport.
import { fork } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { extname } from 'node:path';
import { performance } from 'node:perf_hooks';
import { Pool } from 'undici';
import { logPayloads, tracePayloads, type Payloads } from './agent-traffic.js';

export interface RunCommand {
  op: 'run';
  mode: 'closed' | 'open';
  durationMs: number;
  connections: number;
  /** open mode: requests per second (traces and logs together). */
  rate?: number;
  /** Every n-th request is a logs request (0: none). */
  logsEvery?: number;
}

export interface RunReport {
  requests: number;
  ok: number;
  busy: number;
  /** Of `busy`: answers 503, answers 429, and those carrying a Retry-After header. */
  busy503: number;
  busy429: number;
  retryAfter: number;
  failed: number;
  /** open mode: sends skipped because `connections` requests were already in flight. */
  skipped: number;
  spans: number;
  logs: number;
  elapsedMs: number;
  latencyMs: { p50: number; p90: number; p99: number; max: number };
}

export interface LoadgenOptions {
  url: string;
  perRequest: number;
  distinct: number;
  seed: number;
  token?: string;
}

function pct(sorted: number[], p: number): number {
  if (!sorted.length) return 0;
  return Math.round((sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))] as number) * 100) / 100;
}

async function run(o: LoadgenOptions, pool: Pool, traces: Payloads, logs: Payloads, cmd: RunCommand): Promise<RunReport> {
  const rep = { requests: 0, ok: 0, busy: 0, busy503: 0, busy429: 0, retryAfter: 0, failed: 0, skipped: 0, spans: 0, logs: 0 };
  const lat: number[] = [];
  const headers: Record<string, string> = { 'content-type': 'application/x-protobuf' };
  if (o.token) headers.authorization = `Bearer ${o.token}`;
  let n = 0;
  const send = async (scheduled: number): Promise<'ok' | 'busy' | 'failed'> => {
    const i = n++;
    const isLogs = cmd.logsEvery ? i % cmd.logsEvery === cmd.logsEvery - 1 : false;
    const p = isLogs ? logs : traces;
    const body = p.bodies[i % p.bodies.length] as Buffer;
    rep.requests++;
    try {
      const res = await pool.request({ path: isLogs ? '/v1/logs' : '/v1/traces', method: 'POST', headers, body });
      await res.body.arrayBuffer();
      lat.push(performance.now() - scheduled);
      if (res.statusCode === 200) {
        rep.ok++;
        if (isLogs) rep.logs += p.itemsPerBody;
        else rep.spans += p.itemsPerBody;
        return 'ok';
      }
      if (res.statusCode === 503 || res.statusCode === 429) {
        rep.busy++;
        if (res.statusCode === 503) rep.busy503++;
        else rep.busy429++;
        if (res.headers['retry-after'] !== undefined) rep.retryAfter++;
        return 'busy';
      }
      rep.failed++;
      return 'failed';
    } catch {
      rep.failed++;
      return 'failed';
    }
  };
  const t0 = performance.now();
  const end = t0 + cmd.durationMs;
  if (cmd.mode === 'closed') {
    await Promise.all(
      Array.from({ length: cmd.connections }, async () => {
        while (performance.now() < end) {
          const r = await send(performance.now());
          if (r !== 'ok') await new Promise((res) => setTimeout(res, 20));
        }
      }),
    );
  } else {
    const interval = 1000 / (cmd.rate as number);
    let inFlight = 0;
    let next = t0;
    const pending = new Set<Promise<unknown>>();
    while (performance.now() < end) {
      const now = performance.now();
      while (next <= now) {
        if (inFlight >= cmd.connections) rep.skipped++;
        else {
          inFlight++;
          const p = send(next).finally(() => {
            inFlight--;
            pending.delete(p);
          });
          pending.add(p);
        }
        next += interval;
      }
      await new Promise((res) => setTimeout(res, Math.max(0, Math.min(5, next - performance.now()))));
    }
    await Promise.all(pending);
  }
  lat.sort((a, b) => a - b);
  return { ...rep, elapsedMs: Math.round(performance.now() - t0), latencyMs: { p50: pct(lat, 50), p90: pct(lat, 90), p99: pct(lat, 99), max: pct(lat, 100) } };
}

/** Starts the generator process; payloads are built there. */
export async function startLoadgen(o: LoadgenOptions): Promise<{ bytesPerSpan: number; run(cmd: Omit<RunCommand, 'op'>): Promise<RunReport>; close(): void }> {
  const self = fileURLToPath(import.meta.url);
  const child = fork(self, [JSON.stringify(o)], { execArgv: extname(self) === '.ts' ? ['--import', 'tsx'] : [], stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
  const ready = await new Promise<{ bytesPerSpan: number }>((resolve, reject) => {
    child.once('message', (m) => resolve(m as { bytesPerSpan: number }));
    child.once('exit', (code) => reject(new Error(`load generator exited with ${code}`)));
  });
  return {
    bytesPerSpan: ready.bytesPerSpan,
    run: (cmd) =>
      new Promise<RunReport>((resolve) => {
        child.once('message', (m) => resolve(m as RunReport));
        child.send({ op: 'run', ...cmd });
      }),
    close: () => child.kill(),
  };
}

if (process.argv[1] === fileURLToPath(import.meta.url) && process.send) {
  const o = JSON.parse(process.argv[2] as string) as LoadgenOptions;
  const traces = tracePayloads({ seed: o.seed, perRequest: o.perRequest }, o.distinct);
  const logs = logPayloads({ seed: o.seed + 1, perRequest: o.perRequest }, Math.max(4, o.distinct >> 2));
  const pool = new Pool(o.url, { connections: 256, pipelining: 1, keepAliveTimeout: 60_000 });
  process.send({ bytesPerSpan: traces.bytesPerItem });
  process.on('message', (cmd: RunCommand) => {
    run(o, pool, traces, logs, cmd).then((r) => process.send!(r));
  });
  process.on('disconnect', () => process.exit(0));
}
