// The redactor: rules + key rules + modes, applied to one string, one
// AnyValue or a list of attributes. createRedactor is the plain API other
// modules use (approval chat text, console previews, the CLI).
import { readFileSync } from 'node:fs';
import type { Logger } from 'pino';
import type { AnyValue, Batch, KeyValue } from '../../pipeline/model.js';
import { redactionConfigSchema, type RedactionConfig, type RedactionConfigInput } from './config.js';
import { compileEngine, RuleCompileError, sortIfUnsorted, type Engine, type Finding } from './engine.js';
import { parseGitleaksToml } from './gitleaks.js';
import { jsonLiterals, looksLikeJson } from './json.js';
import { createKeyRules, jsonKeyTrigger, type KeyVerdict } from './keys.js';
import { createReplacer, randomHashKey, type Replacer } from './modes.js';
import { packs } from './rules/index.js';
import type { RuleSpec } from './rules/types.js';
import { redactBatchInPlace, type BatchReport } from './walk.js';

export type { Finding } from './engine.js';

/** Redactions made in one item (span, log record, resource, scope). */
export class Tally {
  count = 0;
  readonly types = new Map<string, number>();
  add(type: string, n = 1): void {
    this.count += n;
    this.types.set(type, (this.types.get(type) ?? 0) + n);
  }
  addAll(other: Tally): void {
    for (const [t, n] of other.types) this.add(t, n);
  }
  /** Empty again, for reuse across items. */
  reset(): this {
    this.count = 0;
    this.types.clear();
    return this;
  }
}

/** Returned in place of a value whose attribute must be removed (`drop` mode). */
export const DROP: unique symbol = Symbol('drop');

export const BLOCKED_KEY_TYPE = 'blocked_key';

/**
 * A `\/` or `\u` escape inside [a, b): decoded, the text may match where the
 * raw text cannot (`https:\/\/user:pw@host`, `j\u00fcrgen@example.de`).
 */
function hidesMatches(text: string, a: number, b: number): boolean {
  for (let i = text.indexOf('\\', a); i >= 0 && i < b; i = text.indexOf('\\', i + 2)) {
    const n = text.charCodeAt(i + 1);
    if (n === 47 || n === 117) return true;
  }
  return false;
}

/**
 * The text rules scan: `\n`, `\r`, `\t` written out (escaped newlines in a
 * log line, in JSON) become two spaces, so `\nghp_…` keeps the word boundary
 * before the token. Same length, so offsets hold for the original text.
 */
function scanView(text: string, firstBackslash = text.indexOf('\\')): string {
  // Most text has no backslash at all: one native search settles it.
  if (firstBackslash < 0) return text;
  let i = firstBackslash;
  let out: string[] | undefined;
  let from = 0;
  while (i >= 0 && i < text.length - 1) {
    // A run of backslashes (`\\n` is the same escape inside JSON) and its letter.
    let j = i;
    while (j < text.length && text.charCodeAt(j) === 92) j++;
    const n = text.charCodeAt(j);
    if (n === 110 || n === 114 || n === 116) {
      (out ??= []).push(text.slice(from, i), ' '.repeat(j + 1 - i));
      from = j + 1;
    }
    i = text.indexOf('\\', j + 1);
  }
  if (!out) return text;
  out.push(text.slice(from));
  return out.join('');
}

const byStart = (x: { start: number }, y: { start: number }): number => x.start - y.start;

/** Marks the findings that overlap [a, b) as handled. */
function markInside(raw: readonly Finding[], used: Uint8Array, a: number, b: number): void {
  for (let i = 0; i < raw.length; i++) if (raw[i]!.start < b && raw[i]!.end > a) used[i] = 1;
}

/** An odd run of backslashes just before `at` (from `from`): `at` is inside an escape. */
function oddBackslashesBefore(text: string, from: number, at: number): boolean {
  let n = 0;
  for (let i = at - 1; i >= from && text.charCodeAt(i) === 92; i--) n++;
  return n % 2 === 1;
}

// Characters of a JSON number or literal (true/false/null).
function isScalarChar(c: number): boolean {
  return (c >= 48 && c <= 57) || (c >= 65 && c <= 90) || (c >= 97 && c <= 122) || c === 43 || c === 45 || c === 46;
}
const MAX_JSON_DEPTH = 4;

export interface Redactor {
  /** Redacts free text with the configured rules and modes. */
  redactText(text: string): { text: string; findings: Finding[] };
  /** What the rules find in the text, without redacting (UTF-16 offsets). */
  findings(text: string): Finding[];
  /** Redacts every agent-controlled string of a batch in place. */
  redactBatch(batch: Batch): BatchReport;
  /** Internal, for walk.ts: a value, recording what it redacted; DROP to remove the attribute. */
  redactValue(value: AnyValue, tally: Tally): AnyValue | typeof DROP;
  /** Internal, for walk.ts: attributes in place. */
  redactAttributes(attrs: KeyValue[], tally: Tally): void;
  /** Internal, for walk.ts: a string in a position that cannot be dropped (names, messages). */
  redactString(text: string, tally: Tally): string;
  readonly rules: readonly RuleSpec[];
}

export interface CreateRedactorOptions {
  logger?: Logger;
  /** Which prefilter the engine uses; for benchmarks. */
  prefilter?: 'set' | 'keywords';
}

function customToSpec(r: RedactionConfig['rules'][number]): RuleSpec {
  return {
    name: r.name,
    type: r.type,
    pattern: r.pattern,
    group: r.group,
    keywords: r.keywords,
    validator: r.validator,
    minEntropy: r.min_entropy,
    priority: r.priority ?? 75,
  };
}

/** The rule list a config asks for: packs, minus disabled rules, plus custom and gitleaks rules. */
export function rulesFor(config: RedactionConfig): RuleSpec[] {
  const disabled = new Set(config.disable_rules);
  const specs: RuleSpec[] = [];
  for (const p of config.packs) for (const r of packs[p] ?? []) if (!disabled.has(r.name) && !disabled.has(r.type)) specs.push(r);
  for (const r of config.rules) specs.push(customToSpec(r));
  if (config.gitleaks_file) {
    let text: string;
    try {
      text = readFileSync(config.gitleaks_file, 'utf8');
    } catch (err) {
      throw new RuleCompileError(`gitleaks_file ${config.gitleaks_file}`, `cannot read the file: ${(err as Error).message}`);
    }
    specs.push(...parseGitleaksToml(text, config.gitleaks_file));
  }
  return specs;
}

export function createRedactor(input: RedactionConfigInput | RedactionConfig = {}, opts: CreateRedactorOptions = {}): Redactor {
  const config = redactionConfigSchema.parse(input);
  const specs = rulesFor(config);
  const keyOf = createKeyRules(config.key_rules.block, config.key_rules.allow);
  const trigger = config.scan_json_strings ? jsonKeyTrigger(config.key_rules.block) : undefined;
  const engine: Engine = compileEngine(specs, { triggers: trigger ? [trigger] : [], prefilter: opts.prefilter });
  let hashKey: string | Buffer | undefined = config.hash_key || undefined;
  if (!hashKey) {
    hashKey = randomHashKey();
    const hashed = config.default_mode === 'hash' || Object.values(config.modes).includes('hash');
    if (hashed) opts.logger?.warn('redaction: no hash_key configured (set SLUICE_REDACTION_HASH_KEY); using a random per-process key, so hashes will not correlate across restarts or replicas');
  }
  const triggerIndex = trigger ? specs.length : -1;
  const triggered = (hits: readonly number[]) => triggerIndex >= 0 && hits.includes(triggerIndex);
  const replacer: Replacer = createReplacer({ modes: config.modes, defaultMode: config.default_mode, hashKey });
  const scanJson = config.scan_json_strings;

  function applyFindings(text: string, found: readonly Finding[], tally: Tally | undefined): { text: string; drop: boolean } {
    let out = '';
    let at = 0;
    let drop = false;
    for (const f of found) {
      out += text.slice(at, f.start) + replacer.replacement(f.type, f.rule, text.slice(f.start, f.end));
      at = f.end;
      if (replacer.modeFor(f.type, f.rule) === 'drop') drop = true;
      tally?.add(f.type);
    }
    return { text: out + text.slice(at), drop };
  }

  function blockedReplacement(value: AnyValue, tally: Tally): string | typeof DROP {
    tally.add(BLOCKED_KEY_TYPE);
    if (replacer.modeFor(BLOCKED_KEY_TYPE, BLOCKED_KEY_TYPE) === 'drop') return DROP;
    const s = typeof value === 'string' ? value : JSON.stringify(value, (_k, v: unknown) => (typeof v === 'bigint' ? v.toString() : v)) ?? '';
    return replacer.replacement(BLOCKED_KEY_TYPE, BLOCKED_KEY_TYPE, s);
  }

  /**
   * JSON text: the rules run once over the raw text; each finding is applied
   * inside the string literal that holds it (re-escaped), literals with
   * escapes are decoded and redacted on their own (nested JSON, `\n`), and a
   * value under a blocked key is replaced whole. A finding outside any
   * literal (a card number sent as a JSON number) replaces its scalar with a
   * masked string. The result is valid JSON and the rest is left as sent.
   */
  function redactJson(text: string, view: string, tally: Tally, found: Finding[] | undefined, depth: number, hits: readonly number[]): { text: string; drop: boolean } | undefined {
    const raw = engine.findingsFor(view, hits);
    // Nothing found, no blocked key seen, no escape that could hide a match:
    // the text stays as it is, without tokenizing it.
    if (raw.length === 0 && !triggered(hits) && !hidesMatches(text, 0, text.length)) return { text, drop: false };
    const lits = jsonLiterals(text);
    if (!lits) return undefined;
    const used = new Uint8Array(raw.length);
    const edits: { start: number; end: number; text: string }[] = [];
    let drop = false;
    let skipUntil = -1;
    for (const lit of lits) {
      if (lit.start < skipUntil) continue;
      if (lit.value) {
        const key = lit.escaped ? (JSON.parse(text.slice(lit.start, lit.end)) as string) : text.slice(lit.start + 1, lit.end - 1);
        if (keyOf(key) === 'block' && lit.value.end > lit.value.start && text.slice(lit.value.start, lit.value.end) !== 'null') {
          tally.add(BLOCKED_KEY_TYPE);
          if (replacer.modeFor(BLOCKED_KEY_TYPE, BLOCKED_KEY_TYPE) === 'drop') drop = true;
          edits.push({ start: lit.value.start, end: lit.value.end, text: JSON.stringify(replacer.replacement(BLOCKED_KEY_TYPE, BLOCKED_KEY_TYPE, text.slice(lit.value.start, lit.value.end))) });
          found?.push({ start: lit.value.start, end: lit.value.end, type: BLOCKED_KEY_TYPE, rule: BLOCKED_KEY_TYPE });
          markInside(raw, used, lit.value.start, lit.value.end);
          skipUntil = lit.value.end;
        }
      }
      const a = lit.start + 1;
      const b = lit.end - 1;
      if (lit.escaped) {
        // Decoding means a second scan. It is needed when escapes could hide a
        // match (`\/`, `\u00e9`), when the literal is nested JSON and a
        // blocked key showed up, or when a raw finding touches an escape;
        // otherwise the raw findings apply to the raw literal as they are.
        let overlaps = false;
        let touchesEscape = false;
        for (const f of raw) {
          if (f.start >= b || f.end <= a) continue;
          overlaps = true;
          const s0 = Math.max(f.start, a);
          const e0 = Math.min(f.end, b);
          if (text.slice(s0, e0).includes('\\') || oddBackslashesBefore(text, a, s0)) touchesEscape = true;
        }
        const nested = triggered(hits) && text.includes('\\"', a) && text.indexOf('\\"', a) < b;
        if (touchesEscape || nested || hidesMatches(text, a, b)) {
          markInside(raw, used, a, b);
          const content = JSON.parse(text.slice(lit.start, lit.end)) as string;
          const before = tally.count;
          const inner: Finding[] | undefined = found ? [] : undefined;
          const r = redactStringInner(content, tally, depth + 1, inner);
          if (tally.count !== before) {
            drop ||= r.drop;
            edits.push({ start: lit.start, end: lit.end, text: JSON.stringify(r.text) });
            // Offsets inside a decoded literal do not map back: report the literal.
            for (const f of inner ?? []) found!.push({ ...f, start: a, end: b });
          }
          continue;
        }
        if (!overlaps) continue;
      }
      let inLit: Finding[] | undefined;
      for (let i = 0; i < raw.length; i++) {
        const f = raw[i]!;
        if (f.start >= b || f.end <= a) continue;
        used[i] = 1;
        (inLit ??= []).push({ ...f, start: Math.max(f.start, a) - a, end: Math.min(f.end, b) - a });
      }
      if (!inLit) continue;
      // The raw content stays as escaped as it was; replacements need no escaping.
      const r = applyFindings(text.slice(a, b), inLit, tally);
      drop ||= r.drop;
      edits.push({ start: lit.start, end: lit.end, text: `"${r.text}"` });
      for (const f of inLit) found?.push({ ...f, start: f.start + a, end: f.end + a });
    }
    for (let i = 0; i < raw.length; i++) {
      if (used[i]) continue;
      // Outside every literal: widen to the scalar token and make it a string.
      const f = raw[i]!;
      let s0 = f.start;
      let e0 = f.end;
      while (s0 > 0 && isScalarChar(text.charCodeAt(s0 - 1))) s0--;
      while (e0 < text.length && isScalarChar(text.charCodeAt(e0))) e0++;
      const r = applyFindings(text.slice(f.start, f.end), [{ ...f, start: 0, end: f.end - f.start }], tally);
      drop ||= r.drop;
      edits.push({ start: s0, end: e0, text: JSON.stringify(r.text) });
      found?.push(f);
    }
    if (edits.length === 0) return { text, drop: false };
    // Literals come in text order; only findings outside them come after.
    sortIfUnsorted(edits, byStart);
    let out = '';
    let at = 0;
    for (const e of edits) {
      if (e.start < at) continue;
      out += text.slice(at, e.start) + e.text;
      at = e.end;
    }
    return { text: out + text.slice(at), drop };
  }

  function redactStringInner(text: string, tally: Tally, depth: number, found: Finding[] | undefined, probed?: readonly number[], probedView?: string): { text: string; drop: boolean } {
    const view = probedView ?? scanView(text);
    const json = scanJson && depth < MAX_JSON_DEPTH && looksLikeJson(text);
    // The blocked-key trigger only matters to JSON text.
    const hits = probed ?? engine.probe(view, json);
    if (hits.length === 0 && !(json && hidesMatches(text, 0, text.length))) return { text, drop: false };
    if (json) {
      const r = redactJson(text, view, tally, found, depth, hits);
      if (r) return r;
    }
    if (hits.length === 0) return { text, drop: false };
    const f = engine.findingsFor(view, hits);
    if (f.length === 0) return { text, drop: false };
    found?.push(...f);
    return applyFindings(text, f, tally);
  }

  /** True when the string may hold something: the Set hit, or JSON escapes hide text from it. */
  function gate(text: string): { view: string; hits: readonly number[] } | undefined {
    const bs = text.indexOf('\\');
    const view = bs < 0 ? text : scanView(text, bs);
    const json = scanJson && looksLikeJson(text);
    // The blocked-key trigger only matters to JSON text.
    const hits = engine.probe(view, json);
    if (hits.length > 0) return { view, hits };
    if (bs >= 0 && json && hidesMatches(text, bs, text.length)) return { view, hits };
    return undefined;
  }

  // The hot path: most strings are clean and leave after one Set pass,
  // without allocating.
  function redactString(text: string, tally: Tally): string {
    const g = gate(text);
    if (!g) return text;
    return redactStringInner(text, tally, 0, undefined, g.hits, g.view).text;
  }

  function verdict(key: string): KeyVerdict {
    return keyOf(key);
  }

  // Keys made only of lowercase letters and . _ - cannot hold anything the
  // packs look for; others (digits, @, capitals) are scanned like values.
  function plainKey(key: string): boolean {
    if (key.length > 64) return false;
    for (let i = 0; i < key.length; i++) {
      const c = key.charCodeAt(i);
      if (!((c >= 97 && c <= 122) || c === 46 || c === 95 || c === 45)) return false;
    }
    return true;
  }

  function redactValue(value: AnyValue, tally: Tally): AnyValue | typeof DROP {
    if (typeof value === 'string') {
      const g = gate(value);
      if (!g) return value;
      const r = redactStringInner(value, tally, 0, undefined, g.hits, g.view);
      return r.drop ? DROP : r.text;
    }
    if (typeof value === 'bigint' || typeof value === 'number') {
      // A card number sent as an int: only long integers can be one.
      if (typeof value === 'number' ? !Number.isInteger(value) || Math.abs(value) < 1e12 : value < 1_000_000_000_000n && value > -1_000_000_000_000n) return value;
      const s = value.toString();
      const before = tally.count;
      const r = redactStringInner(s, tally, MAX_JSON_DEPTH, undefined);
      if (tally.count === before) return value;
      return r.drop ? DROP : r.text;
    }
    if (value === null || typeof value !== 'object') return value;
    if (value instanceof Uint8Array) {
      // Bytes an agent sends are often text; if the text holds a finding the
      // value becomes the redacted text.
      const s = Buffer.from(value.buffer, value.byteOffset, value.byteLength).toString('utf8');
      const before = tally.count;
      const r = redactStringInner(s, tally, 0, undefined);
      if (tally.count === before) return value;
      return r.drop ? DROP : r.text;
    }
    if (Array.isArray(value)) {
      let w = 0;
      for (let i = 0; i < value.length; i++) {
        const v = redactValue(value[i]!, tally);
        if (v !== DROP) value[w++] = v;
      }
      value.length = w;
      return value;
    }
    redactAttributes(value.kvlist, tally);
    return value;
  }

  function redactAttributes(attrs: KeyValue[], tally: Tally): void {
    let w = 0;
    for (let i = 0; i < attrs.length; i++) {
      const kv = attrs[i]!;
      const v = verdict(kv.key);
      if (v === 'allow') {
        attrs[w++] = kv;
        continue;
      }
      let out: AnyValue | typeof DROP;
      if (v === 'block') out = kv.value === null || kv.value === '' ? kv.value : blockedReplacement(kv.value, tally);
      else out = redactValue(kv.value, tally);
      if (out === DROP) continue;
      kv.value = out;
      if (!plainKey(kv.key)) kv.key = redactString(kv.key, tally);
      attrs[w++] = kv;
    }
    attrs.length = w;
  }

  const self: Redactor = {
    rules: specs,
    redactText(text) {
      const tally = new Tally();
      const found: Finding[] = [];
      const r = redactStringInner(text, tally, 0, found);
      return { text: r.text, findings: found };
    },
    findings(text) {
      return [...engine.scan(scanView(text))];
    },
    redactBatch(batch) {
      return redactBatchInPlace(batch, self);
    },
    redactValue,
    redactAttributes,
    redactString,
  };
  return self;
}
