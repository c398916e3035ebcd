// Imports rules from a gitleaks TOML file (`[[rules]]` with id, regex,
// keywords, entropy, secretGroup). gitleaks patterns are Go regexp, which is
// RE2 syntax, so they compile as they are; one RE2 refuses is reported with
// its id by the engine.
import { parse } from 'smol-toml';
import { RuleCompileError } from './engine.js';
import type { RuleSpec } from './rules/types.js';

interface GitleaksRule {
  id?: unknown;
  regex?: unknown;
  keywords?: unknown;
  entropy?: unknown;
  secretGroup?: unknown;
}

export function parseGitleaksToml(text: string, source = 'gitleaks file'): RuleSpec[] {
  let doc: Record<string, unknown>;
  try {
    doc = parse(text) as Record<string, unknown>;
  } catch (err) {
    throw new RuleCompileError(source, `not valid TOML: ${(err as Error).message}`);
  }
  const rules = Array.isArray(doc.rules) ? (doc.rules as GitleaksRule[]) : [];
  const out: RuleSpec[] = [];
  for (const [i, r] of rules.entries()) {
    const id = typeof r.id === 'string' && r.id ? r.id : `${source}#${i + 1}`;
    // Path-only rules (no regex) have nothing to match in telemetry.
    if (typeof r.regex !== 'string') continue;
    out.push({
      name: `gitleaks:${id}`,
      type: id.toLowerCase().replace(/[^a-z0-9]+/g, '_'),
      pattern: r.regex,
      keywords: Array.isArray(r.keywords) ? r.keywords.filter((k): k is string => typeof k === 'string') : undefined,
      validator: typeof r.entropy === 'number' ? 'entropy' : undefined,
      minEntropy: typeof r.entropy === 'number' ? r.entropy : undefined,
      priority: 65,
    });
  }
  return out;
}
