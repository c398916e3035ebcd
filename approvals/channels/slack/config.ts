// The `approvals.channels.slack` section.
import { z } from 'zod';

export const slackConfigSchema = z
  .object({
    /** `http`: Slack POSTs interactions to /slack/interactions. `socket`: Socket Mode, no public endpoint. */
    mode: z.enum(['http', 'socket']).default('http'),
    /** Bot token (`xoxb-…`) with chat:write, users:read, users:read.email. */
    bot_token: z.string().min(1, 'set approvals.channels.slack.bot_token (xoxb-…), normally ${env:SLACK_BOT_TOKEN}'),
    /** Verifies interaction requests in `http` mode. */
    signing_secret: z.string().min(1).optional(),
    /** App-level token (`xapp-…`, connections:write) for `socket` mode. */
    app_token: z.string().min(1).optional(),
    /** Slack Web API base URL; tests point it at a fake Slack on loopback. */
    api_url: z
      .string()
      .url()
      .default('https://slack.com/api/')
      .transform((u) => (u.endsWith('/') ? u : `${u}/`)),
    /** Channel (id or #name) for requests whose policy names `slack` without a channel, or no channels at all. */
    channel: z.string().min(1).optional(),
    /** Slack user id → email, when users.info cannot be used (no users:read.email). Takes precedence over users.info. */
    user_map: z.record(z.string(), z.string()).default({}),
    /** Group name → members (emails or Slack user ids): Slack has no groups a policy could name. */
    groups: z.record(z.string(), z.array(z.string())).default({}),
    /** Resolve clicking users with users.info (needs users:read.email). */
    lookup_users: z.boolean().default(true),
    /** How long an interaction may work before Slack is answered (Slack gives up at 3 s). */
    ack_timeout_ms: z.number().int().min(100).max(2900).default(2500),
    /** Web API retries per call (bounded). */
    retries: z.number().int().min(0).max(10).default(3),
  })
  .superRefine((c, ctx) => {
    if (c.mode === 'http' && !c.signing_secret)
      ctx.addIssue({ code: 'custom', path: ['signing_secret'], message: 'http mode needs signing_secret (Slack app → Basic Information → Signing Secret), or use mode: socket with app_token' });
    if (c.mode === 'socket' && !c.app_token)
      ctx.addIssue({ code: 'custom', path: ['app_token'], message: 'socket mode needs an app-level token (xapp-…, connections:write) in app_token' });
  });

export type SlackConfig = z.output<typeof slackConfigSchema>;
