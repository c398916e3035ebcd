// A real `sluice start` child process for benchmarks and soak scripts, with
// what they read from it: self-metrics, peak RSS (/proc VmHWM), ClickHouse
// counts through the read-only query port.
import { readFile } from 'node:fs/promises';
import { startCli, type StartedCli } from '../../test/helpers/cli.js';

export interface SluiceProcess extends StartedCli {
  pid: number;
  metric(name: string, labels?: Record<string, string>): Promise<number>;
  /** Current and peak resident set size in MiB. */
  rss(): Promise<{ rssMb: number; peakMb: number }>;
  query(sql: string): Promise<string>;
  stop(): Promise<number | null>;
}

export async function startSluice(configPath: string, env: NodeJS.ProcessEnv = {}): Promise<SluiceProcess> {
  const cli = await startCli(['--config', configPath], env);
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
