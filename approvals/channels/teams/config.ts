// The `approvals.channels.teams` section: Adaptive Cards posted to Teams
// Workflows webhooks ("Post to a channel when a webhook request is received").
import { z } from 'zod';

const httpUrl = z
  .string()
  .url()
  .refine((u) => /^https?:\/\//.test(u), 'must be an http(s) URL');

export const teamsConfigSchema = z
  .object({
    /** Workflows webhook URL for policies that name `teams` (or no channel at all). It embeds a signature: keep it in ${env:…}. */
    webhook_url: httpUrl.optional(),
    /** More webhooks by name, for policies that name `teams:<name>`. */
    webhooks: z.record(z.string().regex(/^[A-Za-z0-9_.-]+$/, 'use letters, digits and . _ - only'), httpUrl).default({}),
    /** Where people reach the decision pages (the cards' buttons open `<page_url>/approvals/<id>`). Default: approvals.pages.public_url. */
    page_url: httpUrl.transform((u) => u.replace(/\/+$/, '')).optional(),
    /** Adaptive Card schema version of the cards; Teams renders up to 1.5. */
    card_version: z.enum(['1.2', '1.3', '1.4', '1.5']).default('1.5'),
    /** Attempts per card, the first included. */
    max_attempts: z.number().int().min(1).max(20).default(5),
    initial_backoff_ms: z.number().int().min(1).default(500),
    max_backoff_ms: z.number().int().min(1).default(30_000),
    timeout_ms: z.number().int().min(100).default(10_000),
    /** Cards waiting for delivery; beyond it new cards are dropped and counted. */
    queue_size: z.number().int().min(1).default(10_000),
  })
  .strict()
  .superRefine((c, ctx) => {
    if (!c.webhook_url && Object.keys(c.webhooks).length === 0)
      ctx.addIssue({ code: 'custom', path: ['webhook_url'], message: 'set approvals.channels.teams.webhook_url to a Teams Workflows webhook URL (normally ${env:TEAMS_WEBHOOK_URL}), or name webhooks under `webhooks`' });
  });

export type TeamsConfig = z.output<typeof teamsConfigSchema>;
export type TeamsConfigInput = z.input<typeof teamsConfigSchema>;
