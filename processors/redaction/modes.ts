// What a redacted value becomes. Replacements never contain quotes or
// backslashes, so they are safe inside JSON text and log formats.
import { createHmac, randomBytes } from 'node:crypto';
import type { RedactionMode } from './config.js';
import { digitsOf } from './validators.js';

/** Types whose last four digits `partial` keeps; every other type is masked. */
const PARTIAL_TYPES = new Set(['credit_card', 'phone']);

export interface Replacer {
  modeFor(type: string, rule: string): RedactionMode;
  replacement(type: string, rule: string, value: string): string;
}

export function createReplacer(opts: { modes: Record<string, RedactionMode>; defaultMode: RedactionMode; hashKey: string | Buffer }): Replacer {
  const { modes, defaultMode } = opts;
  const hashKey = opts.hashKey;
  const modeFor = (type: string, rule: string): RedactionMode => modes[rule] ?? modes[type] ?? defaultMode;
  return {
    modeFor,
    replacement(type, rule, value) {
      const mode = modeFor(type, rule);
      if (mode === 'hash') return `[${type}:${createHmac('sha256', hashKey).update(value).digest('hex').slice(0, 8)}]`;
      if (mode === 'partial' && PARTIAL_TYPES.has(type)) {
        const d = digitsOf(value);
        if (d.length >= 8) return `[REDACTED:${type}:${d.slice(-4)}]`;
      }
      return `[REDACTED:${type}]`;
    },
  };
}

/** A random per-process key: hashes correlate within this process only. */
export function randomHashKey(): Buffer {
  return randomBytes(32);
}
