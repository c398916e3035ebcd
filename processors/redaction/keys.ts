// Key rules: attribute keys matched against block and allow globs. Keys
// repeat across spans, so each key's verdict is cached (bounded).
import RE2 from 're2';

export type KeyVerdict = 'allow' | 'block' | 'scan';

function globToRe2(glob: string): string {
  let out = '';
  for (const ch of glob) out += ch === '*' ? '.*' : /[A-Za-z0-9_]/.test(ch) ? ch : `\\${ch}`;
  return out;
}

/** One RE2 alternation of globs (case-insensitive, whole key). */
export function compileGlobs(globs: readonly string[]): RE2 | undefined {
  if (globs.length === 0) return undefined;
  return new RE2(`^(?:${globs.map(globToRe2).join('|')})$`, 'is');
}

/**
 * A pattern that finds a blocked key inside JSON text (`"password":`), added
 * to the engine's Set so that embedded JSON with such keys is parsed even
 * when no value rule fires. It may fire on more than blocked keys (the key
 * rules decide): it starts at the glob's first literal, not at the key's
 * opening quote, because a thread from every `"` through every string
 * literal cost the Set pass over JSON 14% instead of 4%.
 */
export function jsonKeyTrigger(block: readonly string[]): string | undefined {
  if (block.length === 0) return undefined;
  const parts = block.map((g) => {
    let out = '';
    let i = 0;
    while (g[i] === '*') i++;
    for (const ch of g.slice(i)) out += ch === '*' ? '[^"\\\\]*' : /[A-Za-z0-9_]/.test(ch) ? ch : `\\${ch}`;
    return out;
  });
  // Quotes may be escaped: a key of JSON nested in a JSON string.
  return `(?i)(?:${parts.join('|')})\\\\{0,3}"\\s*:`;
}

const CACHE_LIMIT = 10_000;

export function createKeyRules(block: readonly string[], allow: readonly string[]): (key: string) => KeyVerdict {
  const blockRe = compileGlobs(block);
  const allowRe = compileGlobs(allow);
  const cache = new Map<string, KeyVerdict>();
  return (key) => {
    let v = cache.get(key);
    if (v !== undefined) return v;
    v = allowRe?.test(key) ? 'allow' : blockRe?.test(key) ? 'block' : 'scan';
    if (cache.size >= CACHE_LIMIT) cache.clear();
    cache.set(key, v);
    return v;
  };
}
