// The collector's `debug` exporter: logs what passes, for trying a pipeline
// out. It runs after redaction like every exporter, so it prints only
// redacted data; `detailed` prints span and log names and attribute keys.
import { z } from 'zod';
import type { ExporterFactory } from '../../pipeline/component.js';
import { countItems } from '../../pipeline/model.js';

const debugConfigSchema = z
  .object({
    verbosity: z.enum(['basic', 'normal', 'detailed']).default('basic'),
  })
  .strict();

export const debugExporterFactory = {
  type: 'debug',
  configSchema: debugConfigSchema,
  signals: ['traces', 'logs'],
  create(config, ctx) {
    return {
      async export(batch) {
        const items = countItems(batch);
        if (config.verbosity !== 'detailed' || batch.signal !== 'traces') {
          ctx.logger.info({ exporter: ctx.id, signal: batch.signal, items }, 'debug exporter');
          return;
        }
        for (const rs of batch.resourceSpans)
          for (const ss of rs.scopeSpans)
            for (const s of ss.spans) ctx.logger.info({ exporter: ctx.id, span: s.name, traceId: s.traceId, attributes: s.attributes.map((a) => a.key) }, 'span');
      },
    };
  },
} satisfies ExporterFactory<typeof debugConfigSchema>;
