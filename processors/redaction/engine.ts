// The matching engine: every rule compiled once into one RE2.Set (a single
// linear pass that rejects clean text) plus one RE2 per rule, run only when
// the Set reports it, and validators only on what the rules matched.
// Offsets are JavaScript string (UTF-16) indices throughout.
import RE2 from 're2';
import type { RuleSpec } from './rules/types.js';
import { validators, type Validator } from './validators.js';

export interface Finding {
  /** UTF-16 offset of the first character of the sensitive value. */
  start: number;
  /** UTF-16 offset just past its last character. */
  end: number;
  type: string;
  rule: string;
}

export interface EngineOptions {
  /**
   * DFA memory budget of the Set. RE2's 8 MiB default thrashes with about
   * 20 patterns (FACTS.md): 50 ms for a pass that takes 3.5 ms at 64 MiB.
   */
  setMaxMem?: number;
  /**
   * How clean text is rejected: `set` (one RE2.Set pass, default) or
   * `keywords` (substring search for each rule's keywords; rules without
   * keywords always run). Kept for the benchmark's comparison.
   */
  prefilter?: 'set' | 'keywords';
  /**
   * Extra patterns added to the Set whose hits are reported by `probe` but
   * produce no finding: the redactor uses one to notice blocked keys inside
   * embedded JSON.
   */
  triggers?: string[];
}

interface CompiledRule {
  spec: RuleSpec;
  /** The pattern without the named group, global: `search` and `test` find matches. */
  re: RE2;
  /** The same, sticky: whether a match starts exactly at a position (rare path). */
  sticky: RE2;
  /** The whole pattern anchored, with indices: the group of a match, the slow way. */
  groupRe?: RE2;
  /** The pattern cut around the group, each part sticky: the group of a match, the fast way. */
  parts?: GroupParts;
  validate?: Validator;
  priority: number;
  keywords?: string[];
}

interface GroupParts {
  pre?: RE2;
  val: RE2;
  post?: RE2;
}

const NONE: readonly Finding[] = Object.freeze([]);
const NO_HITS: readonly number[] = Object.freeze([]);
const DEFAULT_SET_MAX_MEM = 128 * 1024 * 1024;

export class RuleCompileError extends Error {
  constructor(
    readonly rule: string,
    reason: string,
  ) {
    super(`redaction rule "${rule}": ${reason}`);
    this.name = 'RuleCompileError';
  }
}

export interface Engine {
  readonly rules: readonly RuleSpec[];
  /**
   * Indices of the rules (and, past `rules.length`, the triggers unless
   * `triggers` is false) that match somewhere in the text. Empty for clean
   * text: that is the fast path.
   */
  probe(text: string, triggers?: boolean): readonly number[];
  /** Findings of the rules in `hits` (from `probe`), validated, without overlaps, by start. */
  findingsFor(text: string, hits: readonly number[]): readonly Finding[];
  /** probe + findingsFor. */
  scan(text: string): readonly Finding[];
}

function compileRule(spec: RuleSpec): CompiledRule {
  if (!spec.name) throw new RuleCompileError('(unnamed)', 'a rule needs a name');
  if (!spec.type) throw new RuleCompileError(spec.name, 'a rule needs a type');
  let re: RE2;
  let sticky: RE2;
  let groupRe: RE2 | undefined;
  try {
    // Captures make every search several times slower (8.5 µs against
    // 2.4 µs for the generic rule), so the search runs without the group and
    // only the match itself is run again, anchored, to find it.
    const bare = spec.group ? spec.pattern.split(`(?P<${spec.group}>`).join('(?:').split(`(?<${spec.group}>`).join('(?:') : spec.pattern;
    re = new RE2(bare, 'g');
    sticky = new RE2(bare, 'y');
    if (spec.group) groupRe = new RE2(`^(?:${spec.pattern})`, 'd');
  } catch (err) {
    throw new RuleCompileError(spec.name, `RE2 cannot compile the pattern: ${(err as Error).message}. RE2 has no lookaround or backreferences; see https://github.com/google/re2/wiki/Syntax`);
  }
  if (spec.group && !spec.pattern.includes(`<${spec.group}>`)) {
    throw new RuleCompileError(spec.name, `the pattern has no capture group named "${spec.group}"; add (?P<${spec.group}>...) around the sensitive part or remove "group"`);
  }
  let validate: Validator | undefined;
  if (spec.validator) {
    validate = validators[spec.validator];
    if (!validate) throw new RuleCompileError(spec.name, `unknown validator "${spec.validator}"; use one of ${Object.keys(validators).join(', ')}`);
  }
  return {
    spec,
    re,
    sticky,
    groupRe,
    parts: spec.group ? splitAtGroup(spec.pattern, spec.group) : undefined,
    validate,
    priority: spec.priority ?? 50,
    keywords: spec.keywords?.length ? spec.keywords.map((k) => k.toLowerCase()) : undefined,
  };
}

/** Length of a `(?i)`-style flag group at `at`, 0 if there is none. */
function flagGroupAt(pattern: string, at: number): number {
  if (!pattern.startsWith('(?', at)) return 0;
  let i = at + 2;
  while (i < pattern.length && /* a-z, A-Z, - */ ((pattern[i]! >= 'a' && pattern[i]! <= 'z') || (pattern[i]! >= 'A' && pattern[i]! <= 'Z') || pattern[i] === '-')) i++;
  return i > at + 2 && pattern[i] === ')' ? i + 1 - at : 0;
}

/**
 * `flags PRE (?P<g>VAL) POST` with the group at the top level of the
 * pattern, as three sticky regexes; undefined for any other shape (a top-level
 * `|`, flags mid-pattern, a quantified group), which takes the slow path.
 * Leftmost-first semantics make the group start where PRE alone ends when
 * VAL and POST match from there, and end where VAL alone ends when POST
 * matches from there; findingsFor checks both and that POST ends where the
 * whole match ends, and otherwise takes the slow path too.
 */
export function splitAtGroup(pattern: string, group: string): { pre?: RE2; val: RE2; post?: RE2 } | undefined {
  const from = flagGroupAt(pattern, 0);
  const flags = pattern.slice(0, from);
  let depth = 0;
  let open = -1;
  let close = -1;
  for (let i = from; i < pattern.length; i++) {
    const c = pattern[i]!;
    if (c === '\\') {
      i++;
      continue;
    }
    if (c === '[') {
      // A class: `]` right after `[` or `[^` is literal.
      i++;
      if (pattern[i] === '^') i++;
      if (pattern[i] === ']') i++;
      while (i < pattern.length && pattern[i] !== ']') i += pattern[i] === '\\' ? 2 : 1;
      continue;
    }
    if (c === '|' && depth === 0) return undefined;
    if (c === '(') {
      if (depth === 0 && flagGroupAt(pattern, i) > 0) return undefined;
      if (depth === 0 && (pattern.startsWith(`(?P<${group}>`, i) || pattern.startsWith(`(?<${group}>`, i))) open = i;
      depth++;
      continue;
    }
    if (c === ')') {
      depth--;
      if (depth === 0 && open >= 0 && close < 0) close = i;
    }
  }
  if (open < 0 || close < 0 || depth !== 0) return undefined;
  const after = pattern[close + 1];
  if (after === '*' || after === '+' || after === '?' || after === '{') return undefined;
  const inner = pattern.slice(pattern.indexOf('>', open) + 1, close);
  const pre = pattern.slice(from, open);
  const post = pattern.slice(close + 1);
  const y = (part: string) => new RE2(`${flags}(?:${part})`, 'y');
  try {
    return { pre: pre ? y(pre) : undefined, val: y(inner), post: post ? y(post) : undefined };
  } catch {
    return undefined;
  }
}

function isWordChar(c: number): boolean {
  return (c >= 48 && c <= 57) || (c >= 65 && c <= 90) || (c >= 97 && c <= 122) || c === 95;
}

function isDigit(c: number): boolean {
  return c >= 48 && c <= 57;
}

function isAlnum(c: number): boolean {
  return (c >= 48 && c <= 57) || (c >= 65 && c <= 90) || (c >= 97 && c <= 122);
}

// `-`, `.`, `/` join a number to a longer identifier ("ORD-0123-4567",
// "10.0.0.1.5", "/orders/4111...") unless they end a sentence.
function isJoiner(c: number): boolean {
  return c === 45 || c === 46 || c === 47;
}

function boundaryOk(text: string, start: number, end: number, kind: NonNullable<RuleSpec['boundary']>): boolean {
  const before = start > 0 ? text.charCodeAt(start - 1) : -1;
  const after = end < text.length ? text.charCodeAt(end) : -1;
  if (kind === 'word') return !(before >= 0 && isWordChar(before) && isWordChar(text.charCodeAt(start))) && !(after >= 0 && isWordChar(after) && isWordChar(text.charCodeAt(end - 1)));
  if (kind === 'token') return !(before >= 0 && (isWordChar(before) || before === 45)) && !(after >= 0 && (isWordChar(after) || after === 45));
  // number: also not one group of a longer space-separated digit run
  // ("4928 0820 5268 6892" holds no phone number).
  if (before >= 0 && (isWordChar(before) || ((isJoiner(before) || before === 32) && start > 1 && (before === 32 ? isDigit(text.charCodeAt(start - 2)) : isAlnum(text.charCodeAt(start - 2)))))) return false;
  if (after >= 0 && (isWordChar(after) || ((isJoiner(after) || after === 32) && end + 1 < text.length && (after === 32 ? isDigit(text.charCodeAt(end + 1)) : isAlnum(text.charCodeAt(end + 1)))))) return false;
  return true;
}

/** The first character boundary at or after byte `i` of UTF-8 text. */
function nextChar(bytes: Buffer, i: number): number {
  while (i < bytes.length && (bytes[i]! & 0xc0) === 0x80) i++;
  return i;
}

// The UTF-16 offset of byte `b` (a character boundary) of UTF-8 text,
// counted from the last offset asked for when that lies before `b`:
// findings of a rule come in order, so a text is walked about once per rule.
// The same buffer holds another text on the next call: findingsFor resets.
let u16B = 0;
let u16U = 0;
function resetUtf16Offsets(): void {
  u16B = 0;
  u16U = 0;
}
function utf16Offset(bytes: Buffer, b: number): number {
  if (b < u16B) resetUtf16Offsets();
  let u = u16U;
  for (let i = u16B; i < b; i++) {
    const c = bytes[i]!;
    // A lead byte starts a character; four-byte ones are surrogate pairs.
    if ((c & 0xc0) !== 0x80) u += c >= 0xf0 ? 2 : 1;
  }
  u16B = b;
  u16U = u;
  return u;
}

function better(a: Finding & { p: number }, b: Finding & { p: number }): boolean {
  if (a.p !== b.p) return a.p > b.p;
  return a.end - a.start > b.end - b.start;
}

/**
 * Sorts `xs` in place unless it is already in order. V8's sort copies the
 * array even then, and findings (one rule's come in order, and most texts
 * hold one rule's) and JSON edits are sorted for every flagged text.
 */
export function sortIfUnsorted<T>(xs: T[], cmp: (a: T, b: T) => number): void {
  for (let i = 1; i < xs.length; i++) {
    if (cmp(xs[i - 1]!, xs[i]!) > 0) {
      xs.sort(cmp);
      return;
    }
  }
}

const byStartThenLonger = (x: Finding, y: Finding): number => x.start - y.start || y.end - x.end;

/** Keeps, among overlapping findings, the one with the higher priority (then the longer). */
function resolveOverlaps(found: (Finding & { p: number })[]): Finding[] {
  if (found.length === 1) {
    const { start, end, type, rule } = found[0]!;
    return [{ start, end, type, rule }];
  }
  sortIfUnsorted(found, byStartThenLonger);
  // Kept in place: found[0..w) are the survivors.
  let w = 0;
  for (const f of found) {
    const last = w > 0 ? found[w - 1]! : undefined;
    if (!last || f.start >= last.end) found[w++] = f;
    else if (better(f, last)) found[w - 1] = f;
  }
  const out: Finding[] = new Array(w);
  for (let i = 0; i < w; i++) {
    const { start, end, type, rule } = found[i]!;
    out[i] = { start, end, type, rule };
  }
  return out;
}

export function compileEngine(specs: readonly RuleSpec[], opts: EngineOptions = {}): Engine {
  const seen = new Set<string>();
  for (const s of specs) {
    if (seen.has(s.name)) throw new RuleCompileError(s.name, 'two rules have this name; rule names must be unique');
    seen.add(s.name);
  }
  const rules = specs.map(compileRule);
  const triggers = opts.triggers ?? [];
  const prefilterKind = opts.prefilter ?? 'set';
  // Built-in rules never match fewer than 4 characters; a custom rule might.
  const minLength = 1;

  let set: InstanceType<typeof RE2.Set> | undefined;
  // The same Set without the triggers, for text that does not need them
  // (the redactor's blocked-key trigger only matters to JSON text).
  let ruleSet: InstanceType<typeof RE2.Set> | undefined;
  if (rules.length + triggers.length > 0) {
    try {
      const prefilters = rules.map((r) => r.spec.prefilter ?? r.spec.pattern);
      set = new RE2.Set([...prefilters, ...triggers], { maxMem: opts.setMaxMem ?? DEFAULT_SET_MAX_MEM });
      ruleSet = triggers.length === 0 ? set : rules.length > 0 ? new RE2.Set(prefilters, { maxMem: opts.setMaxMem ?? DEFAULT_SET_MAX_MEM }) : undefined;
    } catch (err) {
      // Every pattern compiled alone, so this is the combined automaton's budget.
      throw new RuleCompileError('(set)', `RE2 cannot compile the combined rule set: ${(err as Error).message}. Raise the memory budget or remove rules`);
    }
  }

  const triggerRes = triggers.map((t) => new RE2(t));
  const alwaysIdx = rules.flatMap((r, i) => (r.keywords ? [] : [i]));
  const keywordRules = rules.flatMap((r, i) => (r.keywords ? [{ i, keywords: r.keywords }] : []));

  function probeKeywords(text: string, withTriggers: boolean): readonly number[] {
    const lower = text.toLowerCase();
    const hits = alwaysIdx.slice();
    for (const { i, keywords } of keywordRules) {
      for (const k of keywords) {
        if (lower.includes(k)) {
          hits.push(i);
          break;
        }
      }
    }
    // Triggers have no keywords: always ask.
    if (withTriggers) for (let t = 0; t < triggers.length; t++) hits.push(rules.length + t);
    return hits;
  }

  // node-re2 turns a string argument into a fresh Buffer on every call, which
  // costs more than the Set pass over a short value; writing the UTF-8 into
  // one reused buffer instead is the one conversion we cannot avoid. The
  // bytes of the last text are kept: findingsFor usually follows the probe
  // of the same string.
  let scratch: Buffer = Buffer.allocUnsafe(64 * 1024);
  // One view per length, made once: a subarray per value is an allocation
  // per value on the hot path.
  let views: Buffer[] = [];
  let lastText: string | undefined;
  let lastBytes: Buffer = scratch.subarray(0, 0);
  function utf8(text: string): Buffer {
    if (text === lastText) return lastBytes;
    if (text.length * 3 > scratch.length) {
      scratch = Buffer.allocUnsafe(Math.max(text.length * 3, scratch.length * 2));
      views = [];
    }
    const n = scratch.write(text, 0, 'utf8');
    lastText = text;
    lastBytes = views[n] ??= scratch.subarray(0, n);
    return lastBytes;
  }

  function probe(text: string, withTriggers = true): readonly number[] {
    const s = withTriggers ? set : ruleSet;
    if (text.length < minLength || !s) return NO_HITS;
    if (prefilterKind === 'keywords') return probeKeywords(text, withTriggers);
    // test() can settle for the first match state; match() must track every
    // pattern to the end and measured about twice as slow. Most text is clean.
    const bytes = utf8(text);
    if (!s.test(bytes)) return NO_HITS;
    if (s === ruleSet) return s.match(bytes);
    // Which rules: the rules-only Set, whose many-match states every flagged
    // text shares, and each trigger alone, measured cheaper than a match()
    // of the Set with the triggers.
    const hits = ruleSet ? ruleSet.match(bytes) : [];
    for (let t = 0; t < triggerRes.length; t++) if (triggerRes[t]!.test(bytes)) hits.push(rules.length + t);
    return hits;
  }

  // Where the next match of a rule lies, in bytes: [mStart, mEnd).
  //
  // node-re2 builds its exec() result (arrays, a Buffer per group, `input`,
  // `groups`) at 1–4 µs per match, ten times the search itself; search()
  // returns only where the leftmost match starts, and a global test() from
  // there leaves its end in lastIndex, with the same leftmost-first semantics
  // and the whole text as context. search() ignores lastIndex, so a later
  // match (a second one in the same text, or one after a rejected candidate)
  // is first ruled out by a global test(); exec() is the fallback.
  let mStart = 0;
  let mEnd = 0;
  function nextMatch(r: CompiledRule, bytes: Buffer, from: number): boolean {
    if (from === 0) {
      const s = r.re.search(bytes);
      if (s < 0) return false;
      // From a match start, the leftmost match is the one starting there:
      // the same regex (and its warm DFA) finds its end.
      r.re.lastIndex = s;
      if (r.re.test(bytes)) {
        mStart = s;
        mEnd = r.re.lastIndex;
        return true;
      }
    } else {
      if (from > bytes.length) return false;
      r.re.lastIndex = from;
      if (!r.re.test(bytes)) return false;
      // A match exists at or after `from`. A search of the bytes from there
      // sees no context before `from` (`\b`, `^`), which can only change
      // whether a match starts exactly at `from`: that one is tested sticky.
      r.sticky.lastIndex = from;
      if (r.sticky.test(bytes)) {
        mStart = from;
        mEnd = r.sticky.lastIndex;
        return true;
      }
      const c = r.re.search(bytes.subarray(from));
      if (c > 0) {
        r.sticky.lastIndex = from + c;
        if (r.sticky.test(bytes)) {
          mStart = from + c;
          mEnd = r.sticky.lastIndex;
          return true;
        }
      }
    }
    r.re.lastIndex = from;
    const m = r.re.exec(bytes as unknown as string);
    if (!m) return false;
    mStart = m.index;
    mEnd = m.index + m[0].length;
    return true;
  }

  // The rule's group inside the match [mStart, mEnd), in bytes: [gStart, gEnd);
  // false when the group did not take part (the whole match is redacted).
  let gStart = 0;
  let gEnd = 0;
  function groupOf(r: CompiledRule, bytes: Buffer): boolean {
    const p = r.parts;
    if (p) {
      let at = mStart;
      let ok = true;
      if (p.pre) {
        p.pre.lastIndex = at;
        ok = p.pre.test(bytes);
        at = p.pre.lastIndex;
      }
      const vs = at;
      if (ok) {
        p.val.lastIndex = vs;
        ok = p.val.test(bytes);
        at = p.val.lastIndex;
      }
      const ve = at;
      if (ok && p.post) {
        p.post.lastIndex = ve;
        ok = p.post.test(bytes);
        at = p.post.lastIndex;
      }
      if (ok && at === mEnd) {
        gStart = vs;
        gEnd = ve;
        return ve > vs;
      }
    }
    // The slow way: the whole pattern with its group, anchored on the match.
    const g = r.groupRe!.exec(bytes.subarray(mStart, mEnd) as unknown as string)?.indices?.groups?.[r.spec.group!];
    if (!g || g[1] <= g[0]) return false;
    gStart = mStart + g[0];
    gEnd = mStart + g[1];
    return true;
  }

  function findingsFor(text: string, hits: readonly number[]): readonly Finding[] {
    let found: (Finding & { p: number })[] | undefined;
    // Matching runs on the UTF-8 bytes; for ASCII text (most telemetry)
    // their offsets are the UTF-16 offsets, otherwise they are converted.
    const bytes = utf8(text);
    const ascii = bytes.length === text.length;
    if (!ascii) resetUtf16Offsets();
    for (const i of hits) {
      const r = rules[i];
      if (!r) continue; // a trigger
      const { spec } = r;
      let from = 0;
      while (nextMatch(r, bytes, from)) {
        let bs = mStart;
        let be = mEnd;
        if (r.groupRe && groupOf(r, bytes)) {
          bs = gStart;
          be = gEnd;
        }
        if (be <= bs) {
          from = nextChar(bytes, Math.max(mEnd, mStart + 1));
          continue;
        }
        const start = ascii ? bs : utf16Offset(bytes, bs);
        const end = ascii ? be : utf16Offset(bytes, be);
        if (
          (spec.boundary && !boundaryOk(text, start, end, spec.boundary)) ||
          (r.validate && !r.validate(text.slice(start, end), spec.minEntropy))
        ) {
          // A shorter or later candidate may start inside this one.
          from = nextChar(bytes, mStart + 1);
          continue;
        }
        (found ??= []).push({ start, end, type: spec.type, rule: spec.name, p: r.priority });
        from = mEnd > mStart ? mEnd : nextChar(bytes, mStart + 1);
      }
    }
    return found ? resolveOverlaps(found) : NONE;
  }

  return {
    rules: specs,
    probe,
    findingsFor,
    scan(text) {
      const hits = probe(text, false);
      return hits.length === 0 ? NONE : findingsFor(text, hits);
    },
  };
}
