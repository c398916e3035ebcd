import { z } from 'zod';

export const privilegedConfigSchema = z
  .object({
    /**
     * A policy file of this processor's own. Unset (the usual case): the
     * policy of `approvals.policy_file`, which the approvals engine holds.
     */
    policy_file: z.string().min(1).optional(),
    /** With policy_file: reload it when the file changes (SIGHUP always reloads). */
    watch_policy: z.boolean().default(true),
    /** Add `sluice.privileged.rule`, `sluice.privileged.effect` and `sluice.approval.state` to matching spans. */
    annotate: z.boolean().default(true),
    /** Most span attributes copied into a request's context (what approvers see, already redacted). */
    context_max_attributes: z.number().int().min(0).max(1000).default(64),
    /** Longest attribute value copied into a request's context, in characters; longer values are cut with "…". */
    context_max_value_length: z.number().int().min(16).max(65_536).default(2048),
  })
  .strict();

export type PrivilegedConfig = z.output<typeof privilegedConfigSchema>;
