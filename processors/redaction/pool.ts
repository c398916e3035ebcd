// A small pool of redaction worker threads, so that redaction uses every
// core while receivers keep the main thread. Batches go to the worker with
// the fewest batches in flight.
import { Worker } from 'node:worker_threads';
import type { Logger } from 'pino';
import type { Batch } from '../../pipeline/model.js';
import type { RedactionConfig } from './config.js';
import type { WorkerResponse } from './worker.js';

interface Slot {
  worker: Worker;
  inFlight: Map<number, { resolve: (r: { batch: Batch; byType: Map<string, number> }) => void; reject: (e: Error) => void }>;
}

// Same extension as this module: .ts under tsx, .js once compiled.
const IS_TS = import.meta.url.endsWith('.ts');
const WORKER_URL = new URL(`./worker${IS_TS ? '.ts' : '.js'}`, import.meta.url);

function startWorker(workerData: unknown): Worker {
  if (IS_TS) {
    // Under tsx (tests, `node --import tsx`): Node 20 does not run --import
    // in workers, so the worker registers tsx itself before loading the .ts.
    const tsxApi = import.meta.resolve('tsx/esm/api');
    const boot = `import(${JSON.stringify(tsxApi)}).then((m) => { m.register(); return import(${JSON.stringify(WORKER_URL.href)}); });`;
    return new Worker(boot, { eval: true, workerData });
  }
  return new Worker(WORKER_URL, { workerData });
}

export class RedactionPool {
  private readonly slots: Slot[] = [];
  private nextId = 1;
  private closed = false;

  constructor(
    private readonly size: number,
    private readonly config: RedactionConfig,
    private readonly logger?: Logger,
  ) {
    for (let i = 0; i < size; i++) this.slots.push(this.spawn());
  }

  private spawn(): Slot {
    const worker = startWorker(this.config);
    const slot: Slot = { worker, inFlight: new Map() };
    worker.on('message', (msg: WorkerResponse) => {
      const p = slot.inFlight.get(msg.id);
      if (!p) return;
      slot.inFlight.delete(msg.id);
      if ('error' in msg) p.reject(new Error(msg.error));
      else p.resolve({ batch: msg.batch, byType: new Map(msg.byType) });
    });
    const fail = (why: string) => {
      for (const p of slot.inFlight.values()) p.reject(new Error(`redaction worker ${why}; the batch was not redacted and is refused`));
      slot.inFlight.clear();
      if (this.closed) return;
      this.logger?.error({ reason: why }, 'redaction worker stopped; starting another');
      const i = this.slots.indexOf(slot);
      if (i >= 0) this.slots[i] = this.spawn();
    };
    worker.on('error', (err) => fail(`failed (${err.name})`));
    worker.on('exit', (code) => {
      if (code !== 0 || slot.inFlight.size > 0) fail(`exited with code ${code}`);
    });
    return slot;
  }

  redact(batch: Batch): Promise<{ batch: Batch; byType: Map<string, number> }> {
    if (this.closed) return Promise.reject(new Error('redaction pool is shut down'));
    let slot = this.slots[0]!;
    for (const s of this.slots) if (s.inFlight.size < slot.inFlight.size) slot = s;
    const id = this.nextId++;
    return new Promise((resolve, reject) => {
      slot.inFlight.set(id, { resolve, reject });
      slot.worker.postMessage({ id, batch });
    });
  }

  async close(): Promise<void> {
    this.closed = true;
    await Promise.all(this.slots.map((s) => s.worker.terminate()));
  }
}
