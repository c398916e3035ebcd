// The batch processor is the pipeline's asynchronous boundary, as in the
// collector, and also its queue: a batch is accepted only once it is queued
// here, and the queue is bounded, so a slow or failing exporter turns into
// backpressure at the receivers (503 + Retry-After) rather than into loss or
// unbounded memory (invariant 4). Items leave the queue only after the next
// stage (exporters, which retry) has taken them. With `queue.type: disk`, a
// batch is also appended to a write-ahead log (disk-queue.ts) before it is
// accepted, and the log's read pointer moves only once the batch is exported.
import type { Logger } from 'pino';
import type { Consumer, Processor } from '../../pipeline/component.js';
import { QueueFullError } from '../../pipeline/component.js';
import { countItems, mergeBatches, type Batch } from '../../pipeline/model.js';
import type { BatchConfig } from './config.js';
import { estimateBatchBytes } from './batch-bytes.js';
import type { DiskQueue, Position } from './disk-queue.js';

interface Queued {
  batch: Batch;
  items: number;
  /** Estimated in-memory size (batch-bytes.ts), for queue_max_bytes. */
  memBytes: number;
  /** Disk queue only: where its record ends, and its size. */
  end?: Position;
  bytes?: number;
}

export interface BatchProcessor extends Processor {
  /** Items queued or being sent. */
  depth(): number;
  /** Resolves when everything queued so far has been sent. */
  drain(): Promise<void>;
}

export interface BatchProcessorOptions {
  onDepth?: (depth: number) => void;
  /** Write-ahead log; absent = memory only. The processor opens and closes it. */
  disk?: DiskQueue;
  logger?: Logger;
  /** Counts items abandoned because the next stage failed for good. */
  onDropped?: (items: number, signal: Batch['signal']) => void;
}

export function createBatchProcessor(config: BatchConfig, next: Consumer, opts: BatchProcessorOptions = {}): BatchProcessor {
  const onDepth = opts.onDepth ?? (() => {});
  const disk = opts.disk;
  const queue: Queued[] = [];
  let depth = 0; // queued + in flight
  let depthBytes = 0; // estimated memory of the same
  let queuedItems = 0;
  let firstQueuedAt = 0;
  let running = false;
  let stopping = false;
  let wake: (() => void) | undefined;
  let timer: NodeJS.Timeout | undefined;
  let loop: Promise<void> | undefined;
  const drainWaiters: Array<() => void> = [];
  // A typical request's size (moving average of the batches offered), so that
  // refuses() can turn one away before it is read when it would not fit.
  let typicalItems = 0;
  let typicalBytes = 0;
  const fullItems = () => new QueueFullError(`queue full (${depth} of ${config.queue_size} items)`, config.retry_after);
  const fullBytes = () => new QueueFullError(`queue full (about ${Math.round(depthBytes / 1048576)} MiB of ${Math.round(config.queue_max_bytes / 1048576)} MiB)`, config.retry_after);

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

  // Batches handed to the next stage and not yet finished. With two, the next
  // batch is merged and serialized on this thread while the exporter's
  // worker writes the previous one; one at a time left the store idle then.
  const inFlight = new Set<Promise<void>>();
  // Disk queue: the read pointer moves in the order batches were taken, and
  // never past a batch that failed (it replays on the next start).
  let commits: Promise<void> = Promise.resolve();
  let commitsStopped = false;

  /** Sends a batch; resolves when the next stage is done with it (the consumer slot frees), while its commit may still wait for earlier ones. */
  function send(taken: Queued[]): Promise<void> {
    const items = taken.reduce((s, q) => s + q.items, 0);
    const merged = mergeBatches(taken.map((q) => q.batch));
    const last = taken[taken.length - 1] as Queued;
    const sent = next.consume(merged).then(
      () => true,
      (err: unknown) => {
        // The export stage retries until it succeeds, so this is a failure for
        // good. With a disk queue the records stay behind the pointer and replay on start.
        opts.logger?.error({ err: (err as Error).message, items, kept: Boolean(disk) }, 'batch could not be sent');
        if (!disk) opts.onDropped?.(items, merged.signal);
        return false;
      },
    );
    const earlier = commits;
    const done = (async () => {
      const ok = await sent;
      if (!disk || !last.end) return;
      await earlier;
      if (commitsStopped) return;
      if (!ok) {
        commitsStopped = true;
        return;
      }
      try {
        await disk.commit(last.end, taken.reduce((s, q) => s + (q.bytes ?? 0), 0));
      } catch (err) {
        // The pointer could not move: this batch and the ones after it replay on start.
        commitsStopped = true;
        opts.logger?.error({ err: (err as Error).message, items, kept: true }, 'disk queue pointer could not move');
      }
    })().finally(() => {
      depth -= items;
      for (const q of taken) depthBytes -= q.memBytes;
      onDepth(depth);
      if (depth === 0) for (const w of drainWaiters.splice(0)) w();
    });
    commits = done;
    return sent.then(() => undefined);
  }

  async function run(): Promise<void> {
    while (running || queue.length) {
      if (inFlight.size >= config.num_consumers) {
        await Promise.race(inFlight);
        continue;
      }
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
      const done = send(takeBatch());
      inFlight.add(done);
      void done.finally(() => inFlight.delete(done));
    }
    await Promise.all(inFlight);
    // The last commit waits for every earlier one.
    await commits;
  }

  function enqueue(q: Queued): void {
    queue.push(q);
    if (!firstQueuedAt) firstQueuedAt = Date.now();
    queuedItems += q.items;
    // Wake the loop to start the timeout (first item) or to send (batch full).
    if (queue.length === 1 || queuedItems >= config.send_batch_size) signal();
  }

  return {
    async consume(batch: Batch): Promise<void> {
      if (stopping) throw new QueueFullError('sluice is shutting down', config.retry_after);
      const items = countItems(batch);
      if (items === 0) return;
      const memBytes = estimateBatchBytes(batch);
      typicalItems = typicalItems === 0 ? items : typicalItems * 0.9 + items * 0.1;
      typicalBytes = typicalBytes === 0 ? memBytes : typicalBytes * 0.9 + memBytes * 0.1;
      // An oversized request is still taken when the queue is empty, so one
      // large (but body-limited) request can never be refused forever.
      if (depth > 0 && depth + items > config.queue_size) throw fullItems();
      if (depth > 0 && depthBytes + memBytes > config.queue_max_bytes) throw fullBytes();
      depth += items;
      depthBytes += memBytes;
      onDepth(depth);
      if (!disk) {
        enqueue({ batch, items, memBytes });
        return;
      }
      try {
        // Resolves once fsync'd; the batch joins the memory queue at that moment, in log order.
        await disk.append(batch, (end, bytes) => enqueue({ batch, items, memBytes, end, bytes }));
      } catch (err) {
        depth -= items;
        depthBytes -= memBytes;
        onDepth(depth);
        if (depth === 0) for (const w of drainWaiters.splice(0)) w();
        throw err;
      }
    },
    refuses() {
      if (stopping) return new QueueFullError('sluice is shutting down', config.retry_after);
      if (depth > 0 && depth + typicalItems > config.queue_size) return fullItems();
      if (depth > 0 && depthBytes + typicalBytes > config.queue_max_bytes) return fullBytes();
      return undefined;
    },
    async start() {
      if (disk) {
        for (const r of await disk.open()) {
          const memBytes = estimateBatchBytes(r.batch);
          depth += r.items;
          depthBytes += memBytes;
          enqueue({ batch: r.batch, items: r.items, memBytes, end: r.end, bytes: r.bytes });
        }
        onDepth(depth);
      }
      running = true;
      loop = run();
    },
    async shutdown() {
      stopping = true;
      // Appends already under way finish and join the queue, so they drain too.
      await disk?.settle();
      running = false;
      signal();
      await loop;
      await disk?.close();
    },
    depth: () => depth,
    drain: () => (depth === 0 ? Promise.resolve() : new Promise<void>((r) => drainWaiters.push(r))),
  };
}
