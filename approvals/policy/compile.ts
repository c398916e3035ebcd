// Compiles a validated policy once (RE2 for every pattern, sets for `in`),
// so evaluating a span is a walk over plain closures. The first rule whose
// match holds decides the span's effect; later rules are not consulted.
import { createHash } from 'node:crypto';
import RE2 from 're2';
import type { AnyValue, KeyValue, Span } from '../../pipeline/model.js';
import { anyValueToString } from '../../pipeline/model.js';
import type { ApprovalPolicySnapshot } from '../types.js';
import { ApprovalAttr } from '../types.js';
import { globToRe2Source } from './glob.js';
import type { Condition, Effect, PolicyFile, PolicyRule } from './schema.js';
import { SPAN_KINDS } from './schema.js';

/** Looks an attribute up by key; built lazily per span / resource by `attributeView`. */
export type AttrLookup = (key: string) => AnyValue | undefined;

export interface PolicyMatch {
  rule: string;
  effect: Effect;
  /** Set for `require_approval`: what is frozen into the request when it opens. */
  snapshot?: ApprovalPolicySnapshot;
}

export interface CompiledPolicy {
  name: string;
  /** SHA-256 of the file's text: which version of the policy was in force. */
  digest: string;
  ruleCount: number;
  evaluate(span: Span, spanAttrs: AttrLookup, resourceAttrs: AttrLookup): PolicyMatch | undefined;
}

/** What one evaluation looks at; `action` is worked out once, on first use. */
interface Subject {
  span: Span;
  attrs: AttrLookup;
  res: AttrLookup;
  action?: string;
}

type Test = (s: Subject) => boolean;

export class PolicyCompileError extends Error {}

export function compilePolicy(file: PolicyFile, text: string, fallbackName: string): CompiledPolicy {
  const name = file.name ?? fallbackName;
  const rules = file.rules.map((r, i) => compileRule(r, i, name, file.defaults.channels));
  return {
    name,
    digest: createHash('sha256').update(text).digest('hex'),
    ruleCount: rules.length,
    evaluate(span, spanAttrs, resourceAttrs) {
      const subject: Subject = { span, attrs: spanAttrs, res: resourceAttrs };
      for (const r of rules) if (r.test(subject)) return r.match;
      return undefined;
    },
  };
}

function compileRule(rule: PolicyRule, index: number, policyName: string, defaultChannels: string[]): { test: Test; match: PolicyMatch } {
  const where = `rules[${index}] (${rule.name})`;
  const tests: Test[] = [];
  const m = rule.match;
  if (m.name !== undefined) {
    const t = namesTest(m.name, `${where}.match.name`);
    tests.push((s) => t(s.span.name));
  }
  if (m.action !== undefined) {
    const t = namesTest(m.action, `${where}.match.action`);
    tests.push((s) => t((s.action ??= actionName(s.span, s.attrs))));
  }
  if (m.kind !== undefined) {
    const kinds = new Set((Array.isArray(m.kind) ? m.kind : [m.kind]).map((k) => SPAN_KINDS.indexOf(k)));
    tests.push((s) => kinds.has(s.span.kind));
  }
  for (const [key, cond] of Object.entries(m.attributes ?? {})) {
    const t = conditionTest(cond, `${where}.match.attributes["${key}"]`);
    tests.push((s) => t(s.attrs(key)));
  }
  for (const [key, cond] of Object.entries(m.resource_attributes ?? {})) {
    const t = conditionTest(cond, `${where}.match.resource_attributes["${key}"]`);
    tests.push((s) => t(s.res(key)));
  }
  const match: PolicyMatch = { rule: rule.name, effect: rule.effect };
  if (rule.require_approval) {
    const ra = rule.require_approval;
    match.snapshot = {
      policy: policyName,
      rule: rule.name,
      approvers: { groups: [...ra.approvers.groups], users: [...ra.approvers.users] },
      minApprovals: ra.min_approvals,
      timeoutMs: ra.timeout,
      onTimeout: ra.on_timeout,
      channels: [...(ra.channels ?? defaultChannels)],
    };
  }
  return {
    test: (s) => {
      for (const t of tests) if (!t(s)) return false;
      return true;
    },
    match,
  };
}

/** The action a span performs, as rules' `action:` sees it. */
export function actionName(span: Span, attrs: AttrLookup): string {
  const a = attrs(ApprovalAttr.action) ?? attrs('gen_ai.tool.name');
  return a === undefined || a === null ? span.name : anyValueToString(a);
}

function compileRe2(source: string, where: string): RE2 {
  try {
    return new RE2(source, 'u');
  } catch (err) {
    throw new PolicyCompileError(`${where}: "${source}" is not a valid RE2 pattern (${(err as Error).message}); RE2 has no lookaround or backreferences`);
  }
}

/** A glob, or `re2:<pattern>`. */
function patternTest(pattern: string, where: string): (s: string) => boolean {
  if (pattern.startsWith('re2:')) {
    const re = compileRe2(pattern.slice(4), where);
    return (s) => re.test(s);
  }
  if (!/[*?[{\\]/.test(pattern)) return (s) => s === pattern;
  // `prefix*` and `*suffix` are plain string tests; RE2 would cost a native call per span.
  const star = pattern.indexOf('*');
  if (star === pattern.length - 1 && !/[?[{\\]/.test(pattern.slice(0, -1))) {
    const prefix = pattern.slice(0, -1);
    return (s) => s.startsWith(prefix);
  }
  if (star === 0 && pattern.lastIndexOf('*') === 0 && !/[?[{\\]/.test(pattern)) {
    const suffix = pattern.slice(1);
    return (s) => s.endsWith(suffix);
  }
  let source: string;
  try {
    source = globToRe2Source(pattern);
  } catch (err) {
    throw new PolicyCompileError(`${where}: ${(err as Error).message}`);
  }
  const re = compileRe2(source, where);
  return (s) => re.test(s);
}

function namesTest(p: string | string[], where: string): (s: string) => boolean {
  const list = (Array.isArray(p) ? p : [p]).map((x, i) => patternTest(x, Array.isArray(p) ? `${where}[${i}]` : where));
  return (s) => list.some((t) => t(s));
}

function scalarText(v: string | number | boolean): string {
  return typeof v === 'string' ? v : String(v);
}

function numeric(v: AnyValue | undefined): number | undefined {
  if (typeof v === 'number') return v;
  if (typeof v === 'bigint') return Number(v);
  if (typeof v === 'string' && v.trim() !== '') {
    const n = Number(v);
    return Number.isFinite(n) ? n : undefined;
  }
  return undefined;
}

function conditionTest(cond: Condition, where: string): (v: AnyValue | undefined) => boolean {
  if (typeof cond !== 'object') {
    const want = scalarText(cond);
    return (v) => v !== undefined && v !== null && anyValueToString(v) === want;
  }
  const parts: Array<(v: AnyValue | undefined) => boolean> = [];
  if (cond.exists !== undefined) {
    const want = cond.exists;
    parts.push((v) => (v !== undefined && v !== null) === want);
  }
  if (cond.equals !== undefined) {
    const want = scalarText(cond.equals);
    parts.push((v) => v !== undefined && v !== null && anyValueToString(v) === want);
  }
  if (cond.in !== undefined) {
    const set = new Set(cond.in.map(scalarText));
    parts.push((v) => v !== undefined && v !== null && set.has(anyValueToString(v)));
  }
  if (cond.glob !== undefined) {
    const t = patternTest(cond.glob.startsWith('re2:') ? `\\${cond.glob}` : cond.glob, `${where}.glob`);
    parts.push((v) => v !== undefined && v !== null && t(anyValueToString(v)));
  }
  if (cond.re2 !== undefined) {
    const re = compileRe2(cond.re2, `${where}.re2`);
    parts.push((v) => v !== undefined && v !== null && re.test(anyValueToString(v)));
  }
  const cmp: Array<[number | undefined, (a: number, b: number) => boolean]> = [
    [cond.gt, (a, b) => a > b],
    [cond.gte, (a, b) => a >= b],
    [cond.lt, (a, b) => a < b],
    [cond.lte, (a, b) => a <= b],
  ];
  for (const [bound, op] of cmp) {
    if (bound === undefined) continue;
    parts.push((v) => {
      const n = numeric(v);
      return n !== undefined && op(n, bound);
    });
  }
  return (v) => parts.every((p) => p(v));
}

/** A lookup over an attribute list that builds its map on first use. */
export function attributeView(kvs: KeyValue[]): AttrLookup {
  if (kvs.length <= 8) {
    return (key) => {
      for (const kv of kvs) if (kv.key === key) return kv.value;
      return undefined;
    };
  }
  let map: Map<string, AnyValue> | undefined;
  return (key) => {
    if (!map) {
      map = new Map();
      for (const kv of kvs) if (!map.has(kv.key)) map.set(kv.key, kv.value);
    }
    return map.get(key);
  };
}
