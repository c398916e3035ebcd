// The batch processor is the pipeline's asynchronous boundary, as in the
// collector, and also its queue: a batch is accepted only once it is queued
// here, and the queue is bounded, so a slow or failing exporter turns into
// backpressure at the receivers (503 + Retry-After) rather than into loss or
// unbounded memory (invariant 4). Items leave the queue only after the next
// stage (exporters, which retry) has taken them.
import type { Consumer, Processor } from '../../pipeline/component.js';
import { QueueFullError } from '../../pipeline/component.js';
import { countItems, mergeBatches, type Batch } from '../../pipeline/model.js';
import type { BatchConfig } from './config.js';

interface Queued {
  batch: Batch;
  items: number;
}

export interface BatchProcessor extends Processor {
  /** Items queued or being sent. */
  depth(): number;
  /** Resolves when everything queued so far has been sent. */
  drain(): Promise<void>;
}

export function createBatchProcessor(config: BatchConfig, next: Consumer, onDepth: (depth: number) => void = () => {}): BatchProcessor {
  const queue: Queued[] = [];
  let depth = 0; // queued + in flight
  let queuedItems = 0;
  let firstQueuedAt = 0;
  let running = false;
  let stopping = false;
  let wake: (() => void) | undefined;
  let timer: NodeJS.Timeout | undefined;
  let loop: Promise<void> | undefined;
  const drainWaiters: Array<() => void> = [];

  const signal = () => {
    const w = wake;
    wake = undefined;
    w?.();
  };

  const maxItems = config.send_batch_max_size || Infinity;

  function takeBatch(): Queued[] {
    const taken: Queued[] = [];
    let n = 0;
    while (queue.length) {
      const head = queue[0] as Queued;
      if (taken.length && n + head.items > maxItems) break;
      taken.push(queue.shift() as Queued);
      n += head.items;
      if (n >= config.send_batch_size) break;
    }
    queuedItems -= n;
    firstQueuedAt = queue.length ? Date.now() : 0;
    return taken;
  }

  async function run(): Promise<void> {
    while (running || queue.length) {
      if (!queue.length) {
        if (!running) break;
        await new Promise<void>((r) => (wake = r));
        continue;
      }
      const due = firstQueuedAt + config.timeout;
      if (queuedItems < config.send_batch_size && !stopping && Date.now() < due) {
        await new Promise<void>((r) => {
          wake = r;
          timer = setTimeout(signal, Math.max(0, due - Date.now()));
        });
        clearTimeout(timer);
        continue;
      }
      const taken = takeBatch();
      const items = taken.reduce((s, q) => s + q.items, 0);
      try {
        await next.consume(mergeBatches(taken.map((q) => q.batch)));
      } finally {
        depth -= items;
        onDepth(depth);
        if (depth === 0) for (const w of drainWaiters.splice(0)) w();
      }
    }
  }

  return {
    async consume(batch: Batch): Promise<void> {
      if (stopping) throw new QueueFullError('sluice is shutting down', config.retry_after);
      const items = countItems(batch);
      if (items === 0) return;
      // An oversized request is still taken when the queue is empty, so one
      // large (but body-limited) request can never be refused forever.
      if (depth > 0 && depth + items > config.queue_size) {
        throw new QueueFullError(`queue full (${depth} of ${config.queue_size} items)`, config.retry_after);
      }
      queue.push({ batch, items });
      if (!firstQueuedAt) firstQueuedAt = Date.now();
      depth += items;
      queuedItems += items;
      onDepth(depth);
      // Wake the loop to start the timeout (first item) or to send (batch full).
      if (queue.length === 1 || queuedItems >= config.send_batch_size) signal();
    },
    async start() {
      running = true;
      loop = run();
    },
    async shutdown() {
      stopping = true;
      running = false;
      signal();
      await loop;
    },
    depth: () => depth,
    drain: () => (depth === 0 ? Promise.resolve() : new Promise<void>((r) => drainWaiters.push(r))),
  };
}
