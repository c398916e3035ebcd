// A real `sluice start` child process for benchmarks and soak scripts, with
// what they read from it: self-metrics, peak RSS (/proc VmHWM), ClickHouse
// counts through the read-only query port.
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { readFile } from 'node:fs/promises';
import { createInterface } from 'node:readline';
import { CLI, type StartedCli } from '../../test/helpers/cli.js';

export interface SluiceProcess extends StartedCli {
  pid: number;
  metric(name: string, labels?: Record<string, string>): Promise<number>;
  /** CPU seconds (user + system, all threads) used so far. */
  cpuSeconds(): Promise<number>;
  /** Current and peak resident set size in MiB. */
  rss(): Promise<{ rssMb: number; peakMb: number }>;
  query(sql: string): Promise<string>;
  stop(): Promise<number | null>;
}

/** `sluice start` as test/helpers/cli.ts runs it, plus node flags (--cpu-prof is not allowed in NODE_OPTIONS). */
async function startCli(args: string[], env: NodeJS.ProcessEnv, nodeArgs: string[]): Promise<StartedCli> {
  const child = spawn(process.execPath, [...nodeArgs, '--import', 'tsx', CLI, 'start', ...args], { env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
  const logs: Array<Record<string, unknown>> = [];
  let stderr = '';
  child.stderr!.on('data', (d) => (stderr = (stderr + d).slice(-4000)));
  const exited = once(child, 'exit').then(([code]) => code as number | null);
  const ports = await new Promise<Record<string, number>>((resolve, reject) => {
    createInterface({ input: child.stdout! }).on('line', (line) => {
      try {
        const rec = JSON.parse(line) as Record<string, unknown>;
        if (logs.length < 10_000) logs.push(rec);
        if (rec.msg === 'sluice started') resolve(rec.ports as Record<string, number>);
      } catch {
        /* not a log line */
      }
    });
    exited.then((code) => reject(new Error(`sluice exited with ${code} before starting: ${stderr.slice(-2000)}`)));
  });
  return { child, ports, logs, exited };
}

export async function startSluice(configPath: string, env: NodeJS.ProcessEnv = {}, nodeArgs: string[] = []): Promise<SluiceProcess> {
  const cli = await startCli(['--config', configPath], env, nodeArgs);
  const pid = cli.child.pid as number;
  return {
    ...cli,
    pid,
    async metric(name, labels = {}) {
      const text = await (await fetch(`http://127.0.0.1:${cli.ports.admin}/metrics`)).text();
      let sum = 0;
      for (const line of text.split('\n')) {
        if (!line.startsWith(name)) continue;
        const m = /^([a-z_]+)(\{[^}]*\})? ([0-9.e+-]+)$/.exec(line);
        if (!m || m[1] !== name) continue;
        if (Object.entries(labels).every(([k, v]) => (m[2] ?? '').includes(`${k}="${v}"`))) sum += Number(m[3]);
      }
      return sum;
    },
    async cpuSeconds() {
      // /proc/<pid>/stat fields 14 and 15 (utime, stime) in clock ticks; the name (field 2) may hold spaces.
      const stat = await readFile(`/proc/${pid}/stat`, 'utf8');
      const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
      return (Number(f[11]) + Number(f[12])) / 100;
    },
    async rss() {
      const status = await readFile(`/proc/${pid}/status`, 'utf8');
      const kb = (k: string) => Number(new RegExp(`${k}:\\s+(\\d+)`).exec(status)?.[1] ?? 0);
      return { rssMb: Math.round(kb('VmRSS') / 1024), peakMb: Math.round(kb('VmHWM') / 1024) };
    },
    async query(sql) {
      const res = await fetch(`http://127.0.0.1:${cli.ports.query}/?query=${encodeURIComponent(sql)}`);
      return (await res.text()).trim();
    },
    async stop() {
      cli.child.kill('SIGTERM');
      return cli.exited;
    },
  };
}

/** Polls until `done` holds, or throws after `timeoutMs`. */
export async function waitFor(done: () => Promise<boolean>, timeoutMs: number, what: string): Promise<void> {
  const end = Date.now() + timeoutMs;
  while (!(await done())) {
    if (Date.now() > end) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}
