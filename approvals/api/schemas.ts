// The approvals API's request shapes: one zod schema per boundary.
import { z } from 'zod';
import type { ApprovalState } from '../types.js';

const states = ['pending', 'approved', 'denied', 'expired', 'cancelled', 'executed', 'failed'] as const satisfies readonly ApprovalState[];

export const listQuerySchema = z.object({
  state: z.enum(states).optional(),
  limit: z.coerce.number().int().min(1).max(1000).default(100),
});

export const idParamsSchema = z.object({
  id: z.string().min(1).max(200),
});

export const decisionQuerySchema = z.object({
  /** Long-poll duration: `30s`, `500ms`, `2m` or plain seconds. Capped by the server. */
  wait: z.string().regex(/^\d+(ms|s|m)?$/, 'use a duration such as 30s, 500ms or 2m').optional(),
});

export const decisionBodySchema = z.object({
  decision: z.enum(['approve', 'deny']),
  comment: z.string().max(2000).default(''),
});

export const consumeBodySchema = z.object({
  actionHash: z.string().regex(/^[0-9a-f]{64}$/, 'must be the lowercase hex SHA-256 of the canonical action'),
});

export const cancelBodySchema = z.object({
  comment: z.string().max(2000).default(''),
});

export function parseWaitMs(wait: string | undefined): number {
  if (!wait) return 0;
  const m = /^(\d+)(ms|s|m)?$/.exec(wait)!;
  const n = Number(m[1]);
  return m[2] === 'ms' ? n : m[2] === 'm' ? n * 60_000 : n * 1000;
}
