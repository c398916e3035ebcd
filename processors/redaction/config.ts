import { z } from 'zod';
import { validatorNames } from './validators.js';
import type { ValidatorName } from './rules/types.js';

export const redactionModes = ['mask', 'hash', 'drop', 'partial'] as const;
export type RedactionMode = (typeof redactionModes)[number];

/**
 * Keys whose value is redacted whole, whatever it looks like. Globs, matched
 * case-insensitively against the whole key (`*` is any run of characters).
 */
export const DEFAULT_BLOCKED_KEYS = [
  '*authorization*',
  '*cookie*',
  '*password*',
  '*passwd*',
  '*secret*',
  '*token*',
  '*api_key*',
  '*api-key*',
  '*apikey*',
  '*access_key*',
  '*private_key*',
  '*credential*',
  '*passphrase*',
  'x-api-key',
];

/**
 * Keys never touched: identifiers, timestamps and counters the pipeline and
 * dashboards rely on. Allow wins over block (`gen_ai.usage.input_tokens`
 * is a count, not a token).
 */
export const DEFAULT_ALLOWED_KEYS = [
  'service.name',
  'service.namespace',
  'service.version',
  'service.instance.id',
  'telemetry.sdk.*',
  'telemetry.distro.*',
  'otel.*',
  'trace_id',
  'span_id',
  '*.trace_id',
  '*.span_id',
  'timestamp',
  '*.timestamp',
  'gen_ai.system',
  'gen_ai.operation.name',
  'gen_ai.request.model',
  'gen_ai.response.model',
  'gen_ai.response.id',
  'gen_ai.response.finish_reasons',
  'gen_ai.usage.*',
  'gen_ai.request.max_tokens',
  '*_tokens',
  '*.tokens',
  '*token_count',
  // Identities, not content: the approval trail must name who asked (the
  // requester can never approve their own request, which needs the real id).
  'enduser.id',
  'gen_ai.agent.name',
  'sluice.approval.id',
  'sluice.approval.phase',
  'sluice.action.hash',
  'sluice.redaction.*',
];

const customRuleSchema = z
  .object({
    name: z.string().min(1).describe('Unique rule name, reported as `rule` in findings'),
    type: z.string().min(1).regex(/^[a-z][a-z0-9_]*$/, 'type must be lower_snake_case, e.g. employee_id'),
    pattern: z.string().min(1).describe('RE2 pattern'),
    group: z.string().optional(),
    keywords: z.array(z.string().min(1)).optional(),
    validator: z.enum(validatorNames as [ValidatorName, ...ValidatorName[]]).optional(),
    min_entropy: z.number().min(0).max(8).optional(),
    priority: z.number().int().optional(),
  })
  .strict();

export type CustomRuleConfig = z.infer<typeof customRuleSchema>;

export const redactionConfigSchema = z
  .object({
    packs: z.array(z.enum(['pii', 'secrets'])).default(['pii', 'secrets']),
    rules: z.array(customRuleSchema).default([]),
    disable_rules: z.array(z.string()).default([]),
    key_rules: z
      .object({
        block: z.array(z.string().min(1)).default(DEFAULT_BLOCKED_KEYS),
        allow: z.array(z.string().min(1)).default(DEFAULT_ALLOWED_KEYS),
      })
      .strict()
      .prefault({}),
    modes: z.record(z.string(), z.enum(redactionModes)).default({}),
    default_mode: z.enum(redactionModes).default('mask'),
    hash_key: z.string().optional(),
    scan_json_strings: z.boolean().default(true),
    workers: z.number().int().min(0).max(64).default(0),
    gitleaks_file: z.string().optional(),
  })
  .strict();

export type RedactionConfig = z.output<typeof redactionConfigSchema>;
export type RedactionConfigInput = z.input<typeof redactionConfigSchema>;
