// A real Kafka protocol peer for tests and benchmarks: librdkafka's mock
// cluster, served by `kcat` on loopback until stopped. Topics auto-create
// (4 partitions) on first produce or metadata request; `createTopics` does
// not work against it.
import { spawn, type ChildProcess } from 'node:child_process';

export interface KafkaMock {
  /** host:port of every mock broker. */
  brokers: string[];
  /** Kills the cluster; everything in it is gone. */
  stop(): Promise<void>;
}

/** Starts a mock cluster of `brokers` brokers (default 3). Needs `kcat` on PATH (Debian: apt-get install kcat). */
export async function startKafkaMock(opts: { brokers?: number; timeoutMs?: number } = {}): Promise<KafkaMock> {
  const n = opts.brokers ?? 3;
  // kcat needs a topic to consume; the probe topic keeps it serving.
  const child = spawn('kcat', ['-b', 'localhost:1', '-X', `test.mock.num.brokers=${n}`, '-q', '-E', '-C', '-t', '__sluice_mock_probe'], {
    stdio: ['ignore', 'ignore', 'pipe'],
  });
  const brokers = await new Promise<string[]>((resolve, reject) => {
    let text = '';
    const timer = setTimeout(() => fail(new Error(`kcat did not print the mock cluster's bootstrap servers within ${opts.timeoutMs ?? 10_000} ms`)), opts.timeoutMs ?? 10_000);
    const fail = (err: Error) => {
      clearTimeout(timer);
      child.kill('SIGKILL');
      reject(err);
    };
    child.once('error', (err) => fail(new Error(`could not run kcat (install it: apt-get install kcat): ${err.message}`)));
    child.once('exit', (code) => fail(new Error(`kcat exited (code ${code}) before the mock cluster was up: ${text.slice(-500)}`)));
    child.stderr!.setEncoding('utf8');
    child.stderr!.on('data', (chunk: string) => {
      if (text.length < 64 * 1024) text += chunk;
      const m = /(?:replaced with|bootstrap\.servers=)\s*([0-9.:,]+)/.exec(text);
      if (m) {
        clearTimeout(timer);
        child.removeAllListeners('exit');
        resolve(m[1]!.split(',').filter(Boolean));
      }
    });
  });
  // Keep draining stderr so kcat never blocks on a full pipe.
  child.stderr!.resume();
  return { brokers, stop: () => stopChild(child) };
}

function stopChild(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve();
  return new Promise((resolve) => {
    child.once('exit', () => resolve());
    child.kill('SIGKILL');
  });
}
