import type { ProcessorFactory } from '../../pipeline/component.js';
import { privilegedConfigSchema } from './config.js';
import { createPrivilegedProcessor } from './privileged.js';

export const privilegedProcessorFactory = {
  type: 'privileged',
  configSchema: privilegedConfigSchema,
  // Logs carry no actions to gate; they pass through untouched.
  signals: ['traces', 'logs'],
  create(config, next, ctx) {
    return createPrivilegedProcessor(config, next, ctx);
  },
} satisfies ProcessorFactory<typeof privilegedConfigSchema>;
