// The `approvals.channels` section's parts, composed into approvals/config.ts.
import { z } from 'zod';
import { slackConfigSchema } from './slack/config.js';
import { webhookConfigSchema } from './webhook/config.js';
import { teamsConfigSchema } from './teams/config.js';

export { slackConfigSchema } from './slack/config.js';
export { webhookConfigSchema } from './webhook/config.js';

export const webhooksConfigSchema = z
  .array(webhookConfigSchema)
  .default([])
  .superRefine((hooks, ctx) => {
    const seen = new Set<string>();
    for (const [i, h] of hooks.entries()) {
      if (seen.has(h.name)) ctx.addIssue({ code: 'custom', path: [i, 'name'], message: `duplicate webhook name "${h.name}"` });
      seen.add(h.name);
    }
  });

export const channelsConfigSchema = z
  .object({
    slack: slackConfigSchema.optional(),
    webhooks: webhooksConfigSchema,
    teams: teamsConfigSchema.optional(),
  })
  .default({ webhooks: [] });

export type ChannelsConfig = z.output<typeof channelsConfigSchema>;
