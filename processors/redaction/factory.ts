import type { ProcessorFactory } from '../../pipeline/component.js';
import { redactionConfigSchema } from './config.js';
import { createRedactor } from './redactor.js';

/**
 * `redaction` processor: redacts every agent-controlled string of a batch in
 * place, then hands the batch on. It belongs first in every pipeline, before
 * anything that copies data.
 */
export const redactionProcessorFactory = {
  type: 'redaction',
  configSchema: redactionConfigSchema,
  signals: ['traces', 'logs'],
  create(config, next, ctx) {
    // Rule compile errors throw here, at start, naming the rule.
    const redactor = createRedactor(config, { logger: ctx.logger });
    if (config.workers > 0) ctx.logger.warn({ workers: config.workers }, 'redaction: worker threads are not implemented yet; redacting inline');
    return {
      async consume(batch) {
        const report = redactor.redactBatch(batch);
        for (const [type, n] of report.byType) ctx.metrics.redactions.inc({ type, signal: batch.signal }, n);
        await next.consume(batch);
      },
    };
  },
} satisfies ProcessorFactory<typeof redactionConfigSchema>;

export { createRedactor } from './redactor.js';
