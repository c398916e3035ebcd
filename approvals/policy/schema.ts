// The policy file (YAML) as zod sees it: the only boundary where policy text
// enters. Everything after this works on the compiled form (compile.ts).
import { z } from 'zod';
import { duration } from '../../config/units.js';

const scalar = z.union([z.string(), z.number(), z.boolean()]);

/** One attribute test. A bare scalar is shorthand for `{ equals: scalar }`; several operators in one object must all hold. */
export const conditionSchema = z.union([
  scalar,
  z
    .object({
      equals: scalar.optional(),
      in: z.array(scalar).min(1, 'in: list at least one value').optional(),
      glob: z.string().optional(),
      re2: z.string().optional(),
      exists: z.boolean().optional(),
      gt: z.number().optional(),
      gte: z.number().optional(),
      lt: z.number().optional(),
      lte: z.number().optional(),
    })
    .strict()
    .refine((c) => Object.values(c).some((v) => v !== undefined), {
      message: 'a condition needs an operator: equals, in, glob, re2, exists, gt, gte, lt or lte',
    }),
]);

export const SPAN_KINDS = ['unspecified', 'internal', 'server', 'client', 'producer', 'consumer'] as const;
const kindSchema = z.enum(SPAN_KINDS);

/** A name pattern: a glob, or `re2:<pattern>` for an RE2 expression. */
const namePatterns = z.union([z.string().min(1), z.array(z.string().min(1)).min(1)]);

export const matchSchema = z
  .object({
    /** The span's name. */
    name: namePatterns.optional(),
    /** The action: `sluice.action.name`, else `gen_ai.tool.name`, else the span name. */
    action: namePatterns.optional(),
    kind: z.union([kindSchema, z.array(kindSchema).min(1)]).optional(),
    attributes: z.record(z.string(), conditionSchema).optional(),
    resource_attributes: z.record(z.string(), conditionSchema).optional(),
  })
  .strict()
  .refine((m) => m.name !== undefined || m.action !== undefined || m.kind !== undefined || Object.keys(m.attributes ?? {}).length > 0 || Object.keys(m.resource_attributes ?? {}).length > 0, {
    message: 'match is empty, so it would match every span; give at least one of name, action, kind, attributes, resource_attributes',
  });

export const requireApprovalSchema = z
  .object({
    approvers: z
      .object({
        groups: z.array(z.string().min(1)).default([]),
        users: z.array(z.string().min(1)).default([]),
      })
      .strict()
      .refine((a) => a.groups.length + a.users.length > 0, { message: 'approvers: name at least one group or user, or nobody could ever approve' }),
    min_approvals: z.number().int().min(1, 'min_approvals must be at least 1').default(1),
    timeout: duration('15m'),
    on_timeout: z
      .string()
      .default('deny')
      .refine((v) => v === 'deny', { message: `on_timeout: only "deny" is supported: a request nobody answered never runs (fail closed)` })
      .transform(() => 'deny' as const),
    /** Channel names that notify: `slack`, `slack/<name>`, `webhook/<name>`, ... (defined under approvals.channels). */
    channels: z.array(z.string().min(1)).optional(),
  })
  .strict()
  .superRefine((r, ctx) => {
    // With users only, asking for more approvers than are listed can never be met.
    if (r.approvers.groups.length === 0 && r.min_approvals > new Set(r.approvers.users.map((u) => u.toLowerCase())).size) {
      ctx.addIssue({ code: 'custom', path: ['min_approvals'], message: `min_approvals is ${r.min_approvals} but only ${r.approvers.users.length} user(s) and no groups are listed; add approvers or lower min_approvals` });
    }
  });

export const EFFECTS = ['require_approval', 'deny', 'allow', 'flag'] as const;

export const ruleSchema = z
  .object({
    name: z.string().min(1),
    description: z.string().optional(),
    match: matchSchema,
    effect: z.enum(EFFECTS),
    require_approval: requireApprovalSchema.optional(),
  })
  .strict()
  .superRefine((r, ctx) => {
    if (r.effect === 'require_approval' && !r.require_approval) {
      ctx.addIssue({ code: 'custom', path: ['require_approval'], message: 'effect is require_approval, so add a require_approval section (approvers, min_approvals, timeout)' });
    }
    if (r.effect !== 'require_approval' && r.require_approval) {
      ctx.addIssue({ code: 'custom', path: ['require_approval'], message: `effect is ${r.effect}, so require_approval has no meaning here; remove it or set effect: require_approval` });
    }
  });

export const policyFileSchema = z
  .object({
    version: z.literal(1).default(1),
    /** Shown in every request and audit event; defaults to the file name. */
    name: z.string().min(1).optional(),
    defaults: z
      .object({
        /** Channels for rules that do not list their own. */
        channels: z.array(z.string().min(1)).default([]),
      })
      .strict()
      .prefault({}),
    rules: z.array(ruleSchema),
  })
  .strict()
  .superRefine((p, ctx) => {
    const seen = new Set<string>();
    p.rules.forEach((r, i) => {
      if (seen.has(r.name)) ctx.addIssue({ code: 'custom', path: ['rules', i, 'name'], message: `rule name "${r.name}" is used twice; rule names must be unique (they appear in the audit log)` });
      seen.add(r.name);
    });
  });

export type PolicyFile = z.output<typeof policyFileSchema>;
export type PolicyRule = PolicyFile['rules'][number];
export type Condition = z.output<typeof conditionSchema>;
export type Effect = (typeof EFFECTS)[number];
