// Invariant 5: linear-time matching only. Every pattern that touches
// telemetry, built-in or user-supplied, runs on RE2; a pattern RE2 cannot run
// in linear time (backreferences, lookaround) is refused at start, and no code
// on the telemetry path builds a backtracking V8 RegExp.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { createRedactor } from '../../processors/redaction/redactor.js';
import { parsePolicy } from '../../approvals/policy/loader.js';
import { packagePath } from '../../config/paths.js';

test('a custom redaction rule RE2 cannot run is refused, naming the rule', () => {
  for (const pattern of ['(a)\\1', '(?=secret)\\w+', '(?<!x)y']) {
    assert.throws(() => createRedactor({ rules: [{ name: 'needs-backtracking', type: 'thing', pattern }] }), /needs-backtracking/);
  }
});

test('a policy pattern RE2 cannot run is refused', () => {
  const policy = (p: string) => `rules:\n  - name: r\n    match:\n      action: "re2:${p}"\n    effect: flag\n`;
  assert.ok(parsePolicy(policy('^(apply|destroy)_infra$'), 'ok.yaml'));
  assert.throws(() => parsePolicy(policy('(a)\\\\1'), 'bad.yaml'), /not a valid RE2 pattern/);
});

test('a pattern that backtracks exponentially in V8 is matched by RE2 in one pass', () => {
  // (a+)+$ on "aaaa…!" takes V8 exponential time; RE2 answers at once. The
  // redactor must run it (not refuse it) and find nothing.
  const r = createRedactor({ packs: [], rules: [{ name: 'nested', type: 'thing', pattern: '(a+)+$' }] });
  const text = 'a'.repeat(5_000) + '!';
  assert.equal(r.redactText(text).findings.length, 0);
  assert.equal(r.redactText('xaaa').findings.length, 1);
});

function sources(dir: string): string[] {
  const out: string[] = [];
  for (const name of readdirSync(dir)) {
    const p = join(dir, name);
    if (statSync(p).isDirectory()) out.push(...sources(p));
    else if (name.endsWith('.ts')) out.push(p);
  }
  return out;
}

test('no code on the telemetry path constructs a V8 RegExp from data or config', () => {
  const roots = ['processors', 'pipeline/otlp', 'pipeline/receivers', 'approvals/policy', 'exporters/kafka'].map((d) => packagePath(d));
  const offenders: string[] = [];
  for (const file of roots.flatMap(sources)) {
    const text = readFileSync(file, 'utf8');
    if (/\bnew RegExp\(|[^.\w]RegExp\(/.test(text)) offenders.push(file);
  }
  assert.deepEqual(offenders, [], 'build patterns with RE2 (the re2 package), never RegExp');
});
