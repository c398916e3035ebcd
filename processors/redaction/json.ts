// Finds the string literals of a JSON text, and for each object member the
// span of its value, without building the parsed value: redaction then
// rewrites only the literals it changes, so the rest of the text (spacing,
// key order, numbers beyond 2^53) stays byte for byte as the agent sent it.
// Hand-written because no JSON library reports token offsets cheaply; it
// only runs on strings the RE2 prefilter already flagged.

export interface JsonLiteral {
  /** Offset of the opening quote. */
  start: number;
  /** Offset just past the closing quote. */
  end: number;
  /** True when the literal contains an escape (decode with JSON.parse). */
  escaped: boolean;
  /** For an object key: the span of its value. */
  value?: { start: number; end: number };
}

const MAX_DEPTH = 256;

// The tokenizer's state, module-level rather than closures made per call:
// redaction calls it for every flagged JSON string. It never re-enters.
let t = '';
let i = 0;
let n = 0;
let out: JsonLiteral[] = [];

function ws(): void {
  while (i < n) {
    const c = t.charCodeAt(i);
    if (c === 32 || c === 10 || c === 13 || c === 9) i++;
    else break;
  }
}

function str(): JsonLiteral | undefined {
  const start = i;
  i++; // opening quote
  let escaped = false;
  while (i < n) {
    const c = t.charCodeAt(i);
    if (c === 34) {
      i++;
      const lit: JsonLiteral = { start, end: i, escaped };
      out.push(lit);
      return lit;
    }
    if (c === 92) {
      escaped = true;
      i += 2;
      continue;
    }
    if (c < 32) return undefined;
    i++;
  }
  return undefined;
}

function value(depth: number): boolean {
  if (depth > MAX_DEPTH) return false;
  ws();
  if (i >= n) return false;
  const c = t.charCodeAt(i);
  if (c === 34) return str() !== undefined;
  if (c === 123) {
    i++;
    ws();
    if (t.charCodeAt(i) === 125) {
      i++;
      return true;
    }
    for (;;) {
      ws();
      if (t.charCodeAt(i) !== 34) return false;
      const key = str();
      if (!key) return false;
      ws();
      if (t.charCodeAt(i) !== 58) return false;
      i++;
      ws();
      const vs = i;
      if (!value(depth + 1)) return false;
      key.value = { start: vs, end: i };
      ws();
      const d = t.charCodeAt(i);
      i++;
      if (d === 125) return true;
      if (d !== 44) return false;
    }
  }
  if (c === 91) {
    i++;
    ws();
    if (t.charCodeAt(i) === 93) {
      i++;
      return true;
    }
    for (;;) {
      if (!value(depth + 1)) return false;
      ws();
      const d = t.charCodeAt(i);
      i++;
      if (d === 93) return true;
      if (d !== 44) return false;
    }
  }
  // number, true, false, null: JSON.parse validates them below.
  const s = i;
  while (i < n) {
    const d = t.charCodeAt(i);
    if (d === 44 || d === 93 || d === 125 || d === 32 || d === 10 || d === 13 || d === 9) break;
    i++;
  }
  return i > s;
}

/** The string literals of `text`, or undefined when `text` is not one JSON value. */
export function jsonLiterals(text: string): JsonLiteral[] | undefined {
  t = text;
  i = 0;
  n = text.length;
  const lits: JsonLiteral[] = (out = []);
  let ok = value(0);
  if (ok) {
    ws();
    ok = i === n;
  }
  t = '';
  out = [];
  return ok ? lits : undefined;
}

/** Cheap check before tokenizing: the text starts like an object or array. */
export function looksLikeJson(text: string): boolean {
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (c === 32 || c === 10 || c === 13 || c === 9) continue;
    return c === 123 || c === 91;
  }
  return false;
}
