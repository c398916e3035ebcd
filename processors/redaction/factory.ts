import type { ProcessorFactory } from '../../pipeline/component.js';
import { redactionConfigSchema } from './config.js';
import { randomHashKey } from './modes.js';
import { RedactionPool } from './pool.js';
import { createRedactor } from './redactor.js';

/**
 * `redaction` processor: redacts every agent-controlled string of a batch in
 * place, then hands the batch on. It belongs first in every pipeline, before
 * anything that copies data. With `workers > 0` the work runs on that many
 * worker threads.
 */
export const redactionProcessorFactory = {
  type: 'redaction',
  configSchema: redactionConfigSchema,
  signals: ['traces', 'logs'],
  create(config, next, ctx) {
    // Rule compile errors throw here, at start, naming the rule.
    const redactor = createRedactor(config, { logger: ctx.logger });
    if (config.workers === 0) {
      return {
        async consume(batch) {
          const report = redactor.redactBatch(batch);
          for (const [type, n] of report.byType) ctx.metrics.redactions.inc({ type, signal: batch.signal }, n);
          await next.consume(batch);
        },
      };
    }
    // Workers share one hash key, so a value hashes the same on every thread.
    const pool = new RedactionPool(config.workers, { ...config, hash_key: config.hash_key || randomHashKey().toString('hex') }, ctx.logger);
    return {
      async consume(batch) {
        const { batch: redacted, byType } = await pool.redact(batch);
        for (const [type, n] of byType) ctx.metrics.redactions.inc({ type, signal: redacted.signal }, n);
        await next.consume(redacted);
      },
      async shutdown() {
        await pool.close();
      },
    };
  },
} satisfies ProcessorFactory<typeof redactionConfigSchema>;

export { createRedactor } from './redactor.js';
