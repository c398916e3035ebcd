import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, rm, writeFile, rename } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pino } from 'pino';
import { attributeView, type CompiledPolicy } from '../../approvals/policy/compile.js';
import { globToRe2Source } from '../../approvals/policy/glob.js';
import { PolicyHolder, reloadAllPolicies } from '../../approvals/policy/holder.js';
import { loadPolicyFileSync, parsePolicy, PolicyLoadError } from '../../approvals/policy/loader.js';
import type { AnyValue, KeyValue, Span } from '../../pipeline/model.js';
import { SpanKind } from '../../pipeline/model.js';

const logger = pino({ level: 'silent' });

function kvs(o: Record<string, AnyValue>): KeyValue[] {
  return Object.entries(o).map(([key, value]) => ({ key, value }));
}

function span(name: string, attrs: Record<string, AnyValue> = {}, kind: number = SpanKind.INTERNAL): Span {
  return {
    traceId: 'a'.repeat(32), spanId: 'b'.repeat(16), parentSpanId: '', traceState: '', flags: 0, name, kind,
    startTimeUnixNano: 0n, endTimeUnixNano: 0n, attributes: kvs(attrs), droppedAttributesCount: 0,
    events: [], droppedEventsCount: 0, links: [], droppedLinksCount: 0, status: { code: 0, message: '' },
  };
}

function evalRule(p: CompiledPolicy, s: Span, res: Record<string, AnyValue> = {}): string | undefined {
  return p.evaluate(s, attributeView(s.attributes), attributeView(kvs(res)))?.rule;
}

/** A one-rule policy whose rule is named `hit`, matching span attribute `k` with `cond`. */
function attrPolicy(cond: string): CompiledPolicy {
  return parsePolicy(`rules:\n  - name: hit\n    match:\n      attributes:\n        k: ${cond}\n    effect: flag\n`, 'inline.yaml');
}

test('attribute operators: equals, in, glob, re2, exists, gt/gte/lt/lte', () => {
  const cases: Array<[string, AnyValue | undefined, boolean]> = [
    ['prod', 'prod', true],
    ['prod', 'production', false],
    ['{ equals: 5 }', 5n, true],
    ['{ equals: 5 }', 5.5, false],
    ['{ equals: true }', true, true],
    ['{ in: [export_table, grant_role] }', 'grant_role', true],
    ['{ in: [export_table, grant_role] }', 'drop_table', false],
    ['{ glob: "export_*" }', 'export_users', true],
    ['{ glob: "export_*" }', 'reexport_users', false],
    ['{ glob: "{grant,revoke}_role" }', 'revoke_role', true],
    ['{ glob: "*_role" }', 'grant_role', true],
    ['{ glob: "*_role" }', 'grant_roles', false],
    ['{ glob: "*" }', '', true],
    ['{ glob: "a*b*" }', 'axxbyy', true],
    ['{ glob: "a*b*" }', 'axxcyy', false],
    ['{ glob: "key-?" }', 'key-1', true],
    ['{ glob: "key-[!0-9]" }', 'key-1', false],
    ['{ re2: "^arn:aws:iam::\\\\d+:role/" }', 'arn:aws:iam::123:role/admin', true],
    ['{ re2: "^arn:aws:iam::\\\\d+:role/" }', 'arn:aws:s3:::bucket', false],
    ['{ exists: true }', 'anything', true],
    ['{ exists: true }', undefined, false],
    ['{ exists: false }', undefined, true],
    ['{ exists: false }', 'x', false],
    ['{ gt: 100 }', 101n, true],
    ['{ gt: 100 }', 100n, false],
    ['{ gte: 100 }', 100, true],
    ['{ lt: 10 }', '9.5', true],
    ['{ lt: 10 }', 'ten', false],
    ['{ lte: 10 }', 10n, true],
    ['{ lte: 10 }', 11, false],
    ['{ gte: 1, lt: 5 }', 3, true],
    ['{ gte: 1, lt: 5 }', 5, false],
  ];
  for (const [cond, value, want] of cases) {
    const p = attrPolicy(cond);
    const s = span('tool', value === undefined ? {} : { k: value });
    assert.equal(evalRule(p, s) === 'hit', want, `${cond} on ${String(value)} should be ${want}`);
  }
});

test('name globs and re2:, span kind, resource attributes, action fallback chain', () => {
  const p = parsePolicy(
    `
rules:
  - name: by-name
    match: { name: "db.export.*" }
    effect: flag
  - name: by-re2
    match: { name: "re2:^k8s\\\\.(apply|delete)$", kind: [client, producer] }
    effect: flag
  - name: by-action-prod
    match:
      action: [grant_role, rotate_key]
      resource_attributes: { deployment.environment: prod }
    effect: flag
`,
    'inline.yaml',
  );
  assert.equal(evalRule(p, span('db.export.users')), 'by-name');
  assert.equal(evalRule(p, span('k8s.apply', {}, SpanKind.CLIENT)), 'by-re2');
  assert.equal(evalRule(p, span('k8s.apply', {}, SpanKind.SERVER)), undefined);
  assert.equal(evalRule(p, span('k8s.applyx', {}, SpanKind.CLIENT)), undefined);
  // sluice.action.name beats gen_ai.tool.name beats the span name
  assert.equal(evalRule(p, span('x', { 'sluice.action.name': 'rotate_key', 'gen_ai.tool.name': 'nope' }), { 'deployment.environment': 'prod' }), 'by-action-prod');
  assert.equal(evalRule(p, span('x', { 'gen_ai.tool.name': 'grant_role' }), { 'deployment.environment': 'prod' }), 'by-action-prod');
  assert.equal(evalRule(p, span('grant_role'), { 'deployment.environment': 'prod' }), 'by-action-prod');
  assert.equal(evalRule(p, span('grant_role'), { 'deployment.environment': 'dev' }), undefined);
  // span attributes are not resource attributes
  assert.equal(evalRule(p, span('grant_role', { 'deployment.environment': 'prod' })), undefined);
});

test('first matching rule wins, and require_approval carries its snapshot', () => {
  const p = parsePolicy(
    `
name: guard
defaults: { channels: [slack] }
rules:
  - name: sandbox
    match: { resource_attributes: { deployment.environment: dev } }
    effect: allow
  - name: export
    match: { action: export_table }
    effect: require_approval
    require_approval:
      approvers: { groups: [data-owners], users: [dpo@example.com] }
      min_approvals: 2
      timeout: 90s
  - name: export-again
    match: { action: export_table }
    effect: deny
`,
    'inline.yaml',
  );
  const s = span('export_table');
  const dev = p.evaluate(s, attributeView(s.attributes), attributeView(kvs({ 'deployment.environment': 'dev' })));
  assert.deepEqual(dev, { rule: 'sandbox', effect: 'allow' });
  const prod = p.evaluate(s, attributeView(s.attributes), attributeView(kvs({ 'deployment.environment': 'prod' })));
  assert.equal(prod?.rule, 'export');
  assert.deepEqual(prod?.snapshot, {
    policy: 'guard', rule: 'export', approvers: { groups: ['data-owners'], users: ['dpo@example.com'] },
    minApprovals: 2, timeoutMs: 90_000, onTimeout: 'deny', channels: ['slack'],
  });
});

test('globs become anchored RE2 sources', () => {
  assert.equal(globToRe2Source('a.b*'), '^a\\.b.*$');
  assert.equal(globToRe2Source('{x,y}?'), '^(?:x|y).$');
  assert.throws(() => globToRe2Source('{open'), /unclosed/);
});

test('invalid policies fail with the file, the place and the fix', () => {
  const bad: Array<[string, RegExp]> = [
    ['rules: [', /not valid YAML/],
    ['', /empty/],
    ['rules:\n  - name: a\n    match: {}\n    effect: flag\n', /rules\[0\] \(a\)\.match: match is empty/],
    ['rules:\n  - name: a\n    match: { name: x }\n    effect: require_approval\n', /require_approval section/],
    ['rules:\n  - name: a\n    match: { name: x }\n    effect: require_approval\n    require_approval: { approvers: { users: [a@x] }, min_approvals: 2 }\n', /min_approvals is 2 but only 1 user/],
    ['rules:\n  - name: a\n    match: { name: x }\n    effect: require_approval\n    require_approval: { approvers: {} }\n', /name at least one group or user/],
    ['rules:\n  - name: a\n    match: { name: x }\n    effect: require_approval\n    require_approval: { approvers: { groups: [g] }, on_timeout: approve }\n', /only "deny" is supported/],
    ['rules:\n  - name: a\n    match: { name: x }\n    effect: require_approval\n    require_approval: { approvers: { groups: [g] }, timeout: soon }\n', /timeout: .*not a duration/],
    ['rules:\n  - name: a\n    match: { name: "re2:(?=x)" }\n    effect: flag\n', /rules\[0\] \(a\)\.match\.name: .*not a valid RE2 pattern/],
    ['rules:\n  - name: a\n    match: { attributes: { k: { like: x } } }\n    effect: flag\n', /unknown key/],
    ['rules:\n  - name: a\n    match: { name: x }\n    effect: block\n', /rules\[0\] \(a\)\.effect/],
    ['rules:\n  - { name: a, match: { name: x }, effect: flag }\n  - { name: a, match: { name: y }, effect: flag }\n', /used twice/],
  ];
  for (const [text, re] of bad) {
    assert.throws(
      () => parsePolicy(text, '/etc/sluice/policy.yaml'),
      (err: unknown) => err instanceof PolicyLoadError && err.message.includes('/etc/sluice/policy.yaml') && re.test(err.message),
      `expected ${re} for:\n${text}`,
    );
  }
  assert.throws(() => loadPolicyFileSync('/nonexistent/policy.yaml'), /does not exist; check approvals.policy_file/);
});

test('the shipped example policy loads and gates prod exports with two approvers', () => {
  const p = loadPolicyFileSync('config/policies/example.yaml');
  const s = span('tool', { 'gen_ai.tool.name': 'export_table' });
  const m = p.evaluate(s, attributeView(s.attributes), attributeView(kvs({ 'deployment.environment': 'prod' })));
  assert.equal(m?.effect, 'require_approval');
  assert.equal(m?.snapshot?.minApprovals, 2);
  const staging = p.evaluate(s, attributeView(s.attributes), attributeView(kvs({ 'deployment.environment': 'staging' })));
  assert.equal(staging?.effect, 'allow');
});

test('reload: on file change and reloadAllPolicies(); an invalid file keeps the previous policy', { timeout: 20_000 }, async () => {
  // The watcher and its debounce timer are unref'd (they must not keep a stopping service alive); this keeps the test's loop up.
  const keepAlive = setInterval(() => {}, 1000);
  const dir = await mkdtemp(join(tmpdir(), 'sluice-policy-'));
  const file = join(dir, 'policy.yaml');
  const v = (n: number) => `name: p${n}\nrules:\n  - { name: r${n}, match: { name: x }, effect: flag }\n`;
  await writeFile(file, v(1));
  const results: Array<{ ok: boolean; name?: string }> = [];
  let notify: (() => void) | undefined;
  const holder = new PolicyHolder({
    file, logger, debounceMs: 20,
    onReload: (r) => {
      results.push(r.ok ? { ok: true, name: r.policy.name } : { ok: false });
      notify?.();
    },
  });
  const nextReload = () => new Promise<void>((res) => (notify = res));
  try {
    assert.equal(holder.current().name, 'p1');
    // An atomic replace (write + rename), as editors and config management do it.
    let waiting = nextReload();
    await writeFile(join(dir, 'tmp'), v(2));
    await rename(join(dir, 'tmp'), file);
    await waiting;
    assert.equal(holder.current().name, 'p2');

    await writeFile(file, 'rules: [ {');
    await reloadAllPolicies();
    assert.equal(holder.current().name, 'p2', 'an invalid file must not replace the policy in force');
    assert.deepEqual(results.at(-1), { ok: false });

    await writeFile(file, v(3));
    await reloadAllPolicies();
    assert.equal(holder.current().name, 'p3');
  } finally {
    clearInterval(keepAlive);
    holder.close();
    await rm(dir, { recursive: true, force: true });
  }
});
