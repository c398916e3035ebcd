// The built-in packs by name, as `packs:` in config refers to them.
import { piiRules } from './pii.js';
import { secretRules } from './secrets.js';
import type { RuleSpec } from './types.js';

export const packs: Record<string, readonly RuleSpec[]> = {
  pii: piiRules,
  secrets: secretRules,
};

export type { RuleSpec, ValidatorName } from './types.js';
