// Runs the real `sluice` CLI (from source, through tsx) as a child process.
import { spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { createInterface } from 'node:readline';
import { packagePath } from '../../config/paths.js';

export const CLI = packagePath('cli', 'sluice.ts');

export function runCli(args: string[], opts: { input?: string; env?: NodeJS.ProcessEnv } = {}): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ['--import', 'tsx', CLI, ...args], { env: { ...process.env, ...opts.env }, stdio: ['pipe', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d) => (stdout += d));
    child.stderr.on('data', (d) => (stderr += d));
    child.on('error', reject);
    child.on('close', (code) => resolve({ code, stdout, stderr }));
    child.stdin.end(opts.input ?? '');
  });
}

export interface StartedCli {
  child: ChildProcess;
  ports: Record<string, number>;
  /** Every JSON log line seen so far. */
  logs: Array<Record<string, unknown>>;
  exited: Promise<number | null>;
}

/** `sluice start`, resolved once it logs "sluice started" with its ports; `nodeArgs` go to node itself. */
export async function startCli(args: string[], env: NodeJS.ProcessEnv = {}, nodeArgs: string[] = []): Promise<StartedCli> {
  const child = spawn(process.execPath, [...nodeArgs, '--import', 'tsx', CLI, 'start', ...args], { env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
  const logs: Array<Record<string, unknown>> = [];
  let stderr = '';
  child.stderr!.on('data', (d) => (stderr += d));
  const exited = once(child, 'exit').then(([code]) => code as number | null);
  const ports = await new Promise<Record<string, number>>((resolve, reject) => {
    createInterface({ input: child.stdout! }).on('line', (line) => {
      try {
        const rec = JSON.parse(line) as Record<string, unknown>;
        logs.push(rec);
        if (rec.msg === 'sluice started') resolve(rec.ports as Record<string, number>);
      } catch {
        /* not a log line */
      }
    });
    exited.then((code) => reject(new Error(`sluice exited with ${code} before starting: ${stderr.slice(-2000)}`)));
  });
  return { child, ports, logs, exited };
}
