import { z } from 'zod';
import { byteSize, duration } from '../../config/units.js';

/**
 * Where accepted batches wait for the exporters. `memory` (default) loses them
 * on a crash, like the collector's in-memory queue; `disk` appends each one to
 * a write-ahead log, fsync'd before the client is answered, and replays it on start.
 */
export const queueConfigSchema = z
  .object({
    type: z.enum(['memory', 'disk']).default('memory'),
    /** Base directory of the disk queue; each pipeline gets a subdirectory. Default: `<service.data_dir>/queue`. */
    dir: z.string().min(1).optional(),
    /** Most bytes of accepted, unexported data on disk; past it, receivers push back. */
    max_bytes: byteSize('1GiB'),
  })
  .strict();

export const batchConfigSchema = z
  .object({
    /** Items (spans or log records) that trigger a send. */
    send_batch_size: z.number().int().positive().default(8192),
    /** Upper bound of items in one send; 0 = no bound beyond send_batch_size rounding up to whole requests. */
    send_batch_max_size: z.number().int().nonnegative().default(0),
    /** How long the first queued item waits for a batch to fill. */
    timeout: duration('200ms'),
    /**
     * Capacity of the queue in items. When full, receivers answer 503 with
     * Retry-After (gRPC UNAVAILABLE): the client keeps the data, nothing is dropped.
     */
    queue_size: z.number().int().positive().default(200_000),
    /**
     * Capacity of the queue in estimated bytes of decoded items (string
     * lengths plus a fixed cost per object; the JS heap holds about 1.5–2×
     * this). Full means the same pushback as queue_size. Bounds memory when
     * items are large, which queue_size alone does not. 32 MiB holds two
     * default batches of agent spans (8,192 × about 2 KB estimated): one
     * being exported, the next filling. At 64 MiB the heap reached 300–400 MB
     * in bench:e2e while the embedded store was the bottleneck, for no more
     * spans/s: the store sets the rate (RESULTS.md, 2026-12-03 evening).
     */
    queue_max_bytes: byteSize('32MiB'),
    /**
     * Batches handed to the exporters at once, like the collector's
     * sending_queue num_consumers; disk queue commits still move in the
     * order batches were taken. 2 lets the next batch be merged and
     * serialized while the previous one is written: bench:e2e traces-only
     * 19–23k spans/s against 15–20k with 1, but about 80 MB more peak RSS
     * (1,093–1,152 MiB against 971–1,081) and a p99 at half load of 35–87 ms
     * against 18–43 (4 and 5 runs), so 1 stays the
     * default (RESULTS.md, 2026-12-03 night).
     */
    num_consumers: z.number().int().positive().default(1),
    /** Seconds clients are told to wait (Retry-After) when the queue is full. */
    retry_after: z.number().int().positive().default(1),
    queue: queueConfigSchema.prefault({} as never),
  })
  .strict();

export type BatchConfig = z.output<typeof batchConfigSchema>;
export type QueueConfig = z.output<typeof queueConfigSchema>;
