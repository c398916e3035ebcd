// One entry of `approvals.channels.webhooks`.
import { z } from 'zod';

const eventTypes = [
  'opened', 'notified', 'approval_recorded', 'approved', 'denied', 'expired', 'cancelled',
  'executed', 'failed', 'decision_refused', 'ungated', 'flagged',
] as const;

export const webhookConfigSchema = z.object({
  /** Names the webhook in logs and metrics. */
  name: z.string().min(1).regex(/^[A-Za-z0-9_.-]+$/, 'use letters, digits and . _ - only'),
  url: z.string().url().refine((u) => /^https?:\/\//.test(u), 'must be an http(s) URL'),
  /** HMAC key for X-Sluice-Signature; normally ${env:…}. */
  secret: z.string().min(16, 'use a secret of at least 16 characters'),
  /**
   * false: a request's events go here only when its policy rule lists
   * `webhook/<name>` (or `webhook`) in channels. true: every request's events.
   * Violations (`ungated`, `flagged`), which have no rule to route them, always go.
   */
  all_requests: z.boolean().default(false),
  /** Event types to send; empty sends every event. */
  events: z.array(z.enum(eventTypes)).default([]),
  /** Attempts per event, the first included. */
  max_attempts: z.number().int().min(1).max(20).default(6),
  initial_backoff_ms: z.number().int().min(1).default(500),
  max_backoff_ms: z.number().int().min(1).default(30_000),
  timeout_ms: z.number().int().min(100).default(5_000),
  /** Events waiting for delivery; beyond it new events are dropped and counted. */
  queue_size: z.number().int().min(1).default(10_000),
});

export type WebhookConfig = z.output<typeof webhookConfigSchema>;
