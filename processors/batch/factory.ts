import { join, resolve } from 'node:path';
import type { ProcessorFactory } from '../../pipeline/component.js';
import { createBatchProcessor } from './batch.js';
import { batchConfigSchema } from './config.js';
import { DiskQueue } from './disk-queue.js';

/** `traces/batch` → `traces/batch`, with anything odd in a segment made safe for a path. */
const queueSubdir = (id: string) => id.split('/').map((s) => s.replace(/[^A-Za-z0-9_.-]/g, '_').replace(/^\.+$/, '_')).join('/');

export const batchProcessorFactory = {
  type: 'batch',
  configSchema: batchConfigSchema,
  signals: ['traces', 'logs'],
  create(config, next, ctx) {
    ctx.metrics.queueCapacity.set({ pipeline: ctx.id }, config.queue_size);
    const disk =
      config.queue.type === 'disk'
        ? new DiskQueue({
            dir: join(resolve(ctx.dataDir, config.queue.dir ?? 'queue'), queueSubdir(ctx.id)),
            maxBytes: config.queue.max_bytes,
            retryAfter: config.retry_after,
            logger: ctx.logger,
          })
        : undefined;
    return createBatchProcessor(config, next, {
      onDepth: (d) => ctx.metrics.queueSize.set({ pipeline: ctx.id }, d),
      disk,
      logger: ctx.logger,
      onDropped: (items, signal) => ctx.metrics.dropped.inc({ component: ctx.id, signal, reason: 'export_failed' }, items),
    });
  },
} satisfies ProcessorFactory<typeof batchConfigSchema>;
