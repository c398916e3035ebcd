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
  re: RE2;
  groupRe?: RE2;
  validate?: Validator;
  priority: number;
  keywords?: string[];
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
   * Indices of the rules (and, past `rules.length`, the triggers) that match
   * somewhere in the text. Empty for clean text: that is the fast path.
   */
  probe(text: string): readonly number[];
  /** Findings of the rules in `hits` (from `probe`), validated, without overlaps, by start. */
  findingsFor(text: string, hits: readonly number[]): readonly Finding[];
  /** probe + findingsFor. */
  scan(text: string): readonly Finding[];
}

function compileRule(spec: RuleSpec): CompiledRule {
  if (!spec.name) throw new RuleCompileError('(unnamed)', 'a rule needs a name');
  if (!spec.type) throw new RuleCompileError(spec.name, 'a rule needs a type');
  let re: RE2;
  let groupRe: RE2 | undefined;
  try {
    // Captures make every search several times slower (8.5 µs against
    // 2.4 µs for the generic rule), so the search runs without the group and
    // only the match itself is run again, anchored, to find it.
    const bare = spec.group ? spec.pattern.split(`(?P<${spec.group}>`).join('(?:').split(`(?<${spec.group}>`).join('(?:') : spec.pattern;
    re = new RE2(bare, 'g');
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
    groupRe,
    validate,
    priority: spec.priority ?? 50,
    keywords: spec.keywords?.length ? spec.keywords.map((k) => k.toLowerCase()) : undefined,
  };
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

function better(a: Finding & { p: number }, b: Finding & { p: number }): boolean {
  if (a.p !== b.p) return a.p > b.p;
  return a.end - a.start > b.end - b.start;
}

/** Keeps, among overlapping findings, the one with the higher priority (then the longer). */
function resolveOverlaps(found: (Finding & { p: number })[]): Finding[] {
  found.sort((a, b) => a.start - b.start || b.end - a.end);
  const out: (Finding & { p: number })[] = [];
  for (const f of found) {
    const last = out[out.length - 1];
    if (!last || f.start >= last.end) out.push(f);
    else if (better(f, last)) out[out.length - 1] = f;
  }
  return out.map(({ start, end, type, rule }) => ({ start, end, type, rule }));
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
  if (rules.length + triggers.length > 0) {
    try {
      set = new RE2.Set([...rules.map((r) => r.spec.prefilter ?? r.spec.pattern), ...triggers], { maxMem: opts.setMaxMem ?? DEFAULT_SET_MAX_MEM });
    } catch (err) {
      // Every pattern compiled alone, so this is the combined automaton's budget.
      throw new RuleCompileError('(set)', `RE2 cannot compile the combined rule set: ${(err as Error).message}. Raise the memory budget or remove rules`);
    }
  }

  const alwaysIdx = rules.flatMap((r, i) => (r.keywords ? [] : [i]));
  const keywordRules = rules.flatMap((r, i) => (r.keywords ? [{ i, keywords: r.keywords }] : []));

  function probeKeywords(text: string): readonly number[] {
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
    for (let t = 0; t < triggers.length; t++) hits.push(rules.length + t);
    return hits;
  }

  // node-re2 turns a string argument into a fresh Buffer on every call, which
  // costs more than the Set pass over a short value; writing the UTF-8 into
  // one reused buffer instead is the one conversion we cannot avoid.
  let scratch = Buffer.allocUnsafe(64 * 1024);
  let groupScratch = Buffer.allocUnsafe(4096);
  function utf8(text: string): Buffer {
    if (text.length * 3 > scratch.length) scratch = Buffer.allocUnsafe(Math.max(text.length * 3, scratch.length * 2));
    const n = scratch.write(text, 0, 'utf8');
    return scratch.subarray(0, n);
  }

  function probe(text: string): readonly number[] {
    if (text.length < minLength || !set) return NO_HITS;
    if (prefilterKind === 'keywords') return probeKeywords(text);
    // test() can settle for the first match state; match() must track every
    // pattern to the end and measured about twice as slow. Most text is clean.
    const bytes = utf8(text);
    return set.test(bytes) ? set.match(bytes) : NO_HITS;
  }

  function findingsFor(text: string, hits: readonly number[]): readonly Finding[] {
    let found: (Finding & { p: number })[] | undefined;
    // ASCII text (most telemetry): match on its UTF-8 bytes, whose offsets
    // are the UTF-16 offsets, and skip node-re2's per-regex string copy.
    const bytes = utf8(text);
    const subject: string | Buffer = bytes.length === text.length ? bytes : text;
    for (const i of hits) {
      const r = rules[i];
      if (!r) continue; // a trigger
      const { re, spec } = r;
      re.lastIndex = 0;
      let m: RegExpExecArray | null;
      while ((m = re.exec(subject as string)) !== null) {
        let start = m.index;
        let end = start + m[0].length;
        if (r.groupRe) {
          const whole = text.slice(start, end);
          // Bytes of an ASCII match (offsets agree) in a second reused buffer:
          // the first one still holds the subject.
          if (whole.length * 3 > groupScratch.length) groupScratch = Buffer.allocUnsafe(whole.length * 3);
          const n = groupScratch.write(whole, 0, 'utf8');
          const g = r.groupRe.exec((n === whole.length ? groupScratch.subarray(0, n) : whole) as string)?.indices?.groups?.[spec.group!];
          // No group where the whole matched: redact the whole match.
          if (g && g[1] > g[0]) [start, end] = [start + g[0], start + g[1]];
        }
        if (end <= start) {
          re.lastIndex = Math.max(re.lastIndex, m.index + 1);
          continue;
        }
        if (
          (spec.boundary && !boundaryOk(text, start, end, spec.boundary)) ||
          (r.validate && !r.validate({ value: text.slice(start, end), minEntropy: spec.minEntropy }))
        ) {
          // A shorter or later candidate may start inside this one.
          re.lastIndex = m.index + 1;
          if (re.lastIndex > text.length) break;
          continue;
        }
        (found ??= []).push({ start, end, type: spec.type, rule: spec.name, p: r.priority });
      }
    }
    return found ? resolveOverlaps(found) : NONE;
  }

  return {
    rules: specs,
    probe,
    findingsFor,
    scan(text) {
      const hits = probe(text);
      return hits.length === 0 ? NONE : findingsFor(text, hits);
    },
  };
}
