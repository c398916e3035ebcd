import type { ProcessorFactory } from '../../pipeline/component.js';
import { createBatchProcessor } from './batch.js';
import { batchConfigSchema } from './config.js';

export const batchProcessorFactory = {
  type: 'batch',
  configSchema: batchConfigSchema,
  signals: ['traces', 'logs'],
  create(config, next, ctx) {
    ctx.metrics.queueCapacity.set({ pipeline: ctx.id }, config.queue_size);
    return createBatchProcessor(config, next, (d) => ctx.metrics.queueSize.set({ pipeline: ctx.id }, d));
  },
} satisfies ProcessorFactory<typeof batchConfigSchema>;
