import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { readFileSync } from 'node:fs';
import { createRedactor, RuleCompileError } from '../../processors/redaction/index.js';
import { compileEngine, splitAtGroup } from '../../processors/redaction/engine.js';
import { ibanMod97, isCardNumber, isJwt, isSsn, luhn, shannonEntropy, isGenericSecret, isIpv6Address } from '../../processors/redaction/validators.js';
import { ALL_TYPES, negativeGen, plant, rng } from '../fixtures/redaction/samples.js';

const red = createRedactor({});

test('every type is found in its contexts, with the exact span', () => {
  const r = rng(7);
  for (const type of ALL_TYPES) {
    for (let i = 0; i < 12; i++) {
      const p = plant(r, type);
      const f = red.findings(p.text);
      const hit = f.find((x) => x.type === type);
      assert.ok(hit, `${type} not found in ${JSON.stringify(p.text)}`);
      assert.equal(p.text.slice(hit.start, hit.end), p.value, `${type} span in ${JSON.stringify(p.text)}`);
    }
  }
});

test('hard negatives are left alone', () => {
  const r = rng(8);
  for (const [kind, gen] of Object.entries(negativeGen)) {
    for (let i = 0; i < 20; i++) {
      const v = gen(r);
      const f = red.findings(`value ${v} here`);
      assert.deepEqual(f, [], `${kind} ${JSON.stringify(v)} → ${JSON.stringify(f)}`);
    }
  }
  for (const s of ['api_key=3fa85f64-5717-4562-b3fc-2c963f66afa6', 'token: getAccessTokenFromCache', 'Bearer <token>', 'max_tokens=4096', 'password=********', 'version 1.2.3 build 10.0.19045.2965', 'at 10:30:00 on 2024-01-15', 'std::vector and Foo::bar', 'logo@2x.png', 'oid 1.3.6.1.4.1.311', 'mac 00:1a:2b:3c:4d:5e', '-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----', 'pk_live_abcdefghijklmnop1234', 'user@localhost', 'call 4155552671', 'released 2024-08-06']) {
    assert.deepEqual(red.findings(s), [], s);
  }
});

test('a PEM block cut short is still redacted to the end of its body', () => {
  const out = red.redactText('key: -----BEGIN OPENSSH PRIVATE KEY-----\nb3BlbnNzaC1rZXktdjEAAAAA\nQyNTUxOQAAACB').text;
  assert.equal(out, 'key: [REDACTED:private_key]');
});

test('offsets are UTF-16 indices', () => {
  const s = 'こんにちは😀 mail jürgen@example.de ok';
  const [f] = red.findings(s);
  assert.ok(f);
  assert.equal(s.slice(f.start, f.end), 'jürgen@example.de');
  assert.equal(red.redactText(s).text, 'こんにちは😀 mail [REDACTED:email] ok');
});

test('offsets stay right from one non-ASCII text to the next of the same UTF-8 length', () => {
  // Both are 30 bytes: the engine's reused buffer view is the same object.
  const a = `bob@example.com ${'ü'.repeat(7)}`;
  const b = `${'ü'.repeat(7)} bob@example.com`;
  for (const s of [a, b, a, b]) {
    const [f] = red.findings(s);
    assert.ok(f);
    assert.equal(s.slice(f.start, f.end), 'bob@example.com', s);
  }
});

test('validators', () => {
  assert.ok(luhn('4111111111111111'));
  assert.ok(!luhn('4111111111111112'));
  assert.ok(isCardNumber('4111 1111 1111 1111'));
  assert.ok(!isCardNumber('4111 1111-1111 1111'), 'mixed separators');
  assert.ok(!isCardNumber('4111111111111112'));
  assert.ok(ibanMod97('DE89 3704 0044 0532 0130 00'));
  assert.ok(!ibanMod97('DE88 3704 0044 0532 0130 00'));
  assert.ok(!ibanMod97('DE89 3704 0044 0532 0130 0'), 'wrong length for DE');
  assert.ok(isSsn('123-45-6789'));
  for (const bad of ['000-12-3456', '666-12-3456', '912-12-3456', '123-00-4567', '123-45-0000']) assert.ok(!isSsn(bad), bad);
  assert.ok(isJwt('eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxIn0.sig'));
  assert.ok(!isJwt('eyJmb28iOjF9.eyJzdWIiOiIxIn0.sig'), 'header without alg/typ');
  assert.ok(shannonEntropy('aaaa') === 0 && shannonEntropy('abcd') === 2);
  assert.ok(isGenericSecret('Zx81kLmN0pQrS7tUvW9y'));
  assert.ok(!isGenericSecret('3fa85f64-5717-4562-b3fc-2c963f66afa6'));
  assert.ok(!isGenericSecret('da39a3ee5e6b4b0d3255bfef95601890afd80709'));
  assert.ok(isIpv6Address('2001:db8::1') && !isIpv6Address('::1') && !isIpv6Address('10:30:00'));
});

test('modes: mask, hash (stable per key), drop, partial', () => {
  const text = 'card 4111 1111 1111 1111, mail bob@example.com, call +1 415 555 2671';
  assert.equal(red.redactText(text).text, 'card [REDACTED:credit_card], mail [REDACTED:email], call [REDACTED:phone]');

  const h1 = createRedactor({ default_mode: 'hash', hash_key: 'k1-0123456789abcdef' });
  const h1b = createRedactor({ default_mode: 'hash', hash_key: 'k1-0123456789abcdef' });
  const h2 = createRedactor({ default_mode: 'hash', hash_key: 'k2-0123456789abcdef' });
  const a = h1.redactText('mail bob@example.com').text;
  assert.match(a, /^mail \[email:[0-9a-f]{8}\]$/);
  assert.equal(h1b.redactText('to bob@example.com').text.slice(3), a.slice(5), 'same value, same key → same hash');
  assert.notEqual(h2.redactText('mail bob@example.com').text, a, 'another key → another hash');
  assert.notEqual(h1.redactText('mail eve@example.com').text, a);

  const p = createRedactor({ modes: { credit_card: 'partial', phone: 'partial', email: 'partial' } });
  assert.equal(p.redactText(text).text, 'card [REDACTED:credit_card:1111], mail [REDACTED:email], call [REDACTED:phone:2671]');

  const byRule = createRedactor({ modes: { email: 'hash', basic_auth: 'drop' }, hash_key: 'x'.repeat(16) });
  assert.match(byRule.redactText('bob@example.com').text, /^\[email:[0-9a-f]{8}\]$/);
});

test('JSON inside a string stays valid JSON, numbers kept byte for byte', () => {
  const tok = 'ghp_' + 'a1B2'.repeat(9);
  const s = `{"messages":[{"role":"user","content":"my token is ${tok}\\nthanks"}],"password":"hunter2","nested":"{\\"db\\":\\"postgres://u:S3cretPw@h/db\\"}","n":12345678901234567890, "max_tokens": 512}`;
  const out = red.redactText(s).text;
  const parsed = JSON.parse(out) as Record<string, unknown>;
  assert.equal((parsed.messages as { content: string }[])[0]!.content, 'my token is [REDACTED:github_token]\nthanks');
  assert.equal(parsed.password, '[REDACTED:blocked_key]');
  assert.equal(JSON.parse(parsed.nested as string).db, 'postgres://u:[REDACTED:password_in_url]@h/db');
  assert.ok(out.includes('"n":12345678901234567890, "max_tokens": 512'));
  assert.ok(!out.includes(tok) && !out.includes('hunter2') && !out.includes('S3cretPw'));
});

test('JSON: a finding spanning key and value is applied in the value; a card sent as a number becomes a masked string', () => {
  const out = red.redactText('{"signing_key": "Zx81kLmN0pQrS7tUvW9yAb12", "card": 4111111111111111, "n": -1}').text;
  assert.deepEqual(JSON.parse(out), { signing_key: '[REDACTED:generic_api_key]', card: '[REDACTED:credit_card]', n: -1 });
});

test('custom rules; compile errors name the rule and RE2 reason', () => {
  const c = createRedactor({ rules: [{ name: 'employee-id', type: 'employee_id', pattern: '\\bEMP-[0-9]{6}\\b', keywords: ['EMP-'] }] });
  assert.equal(c.redactText('owner EMP-123456 approved').text, 'owner [REDACTED:employee_id] approved');
  assert.throws(
    () => createRedactor({ rules: [{ name: 'bad-lookahead', type: 'x', pattern: 'foo(?=bar)' }] }),
    (err: Error) => err instanceof RuleCompileError && /bad-lookahead/.test(err.message) && /invalid perl operator/.test(err.message),
  );
  assert.throws(() => createRedactor({ rules: [{ name: 'unbalanced', type: 'x', pattern: '(abc' }] }), /redaction rule "unbalanced": RE2 cannot compile the pattern: missing \)/);
  assert.throws(() => createRedactor({ rules: [{ name: 'email', type: 'x', pattern: 'x' }] }), /"email".*unique/);
});

test('gitleaks TOML import', () => {
  const dir = mkdtempSync(join(tmpdir(), 'sluice-redaction-'));
  const file = join(dir, 'gitleaks.toml');
  writeFileSync(file, `[[rules]]\nid = "acme-key"\nregex = '''acme_[a-z0-9]{16}'''\nkeywords = ["acme_"]\n\n[[rules]]\nid = "paths-only"\npath = '''\\.pem$'''\n`);
  const g = createRedactor({ gitleaks_file: file });
  assert.equal(g.redactText('k=acme_0123456789abcdef').text, 'k=[REDACTED:acme_key]');
  writeFileSync(file, `[[rules]]\nid = "broken"\nregex = '''(?<=x)y'''\n`);
  assert.throws(() => createRedactor({ gitleaks_file: file }), /redaction rule "gitleaks:broken"/);
});

test('each rule prefilter is a superset: the same findings as a Set of the full patterns, on the whole eval set', () => {
  const withPrefilters = compileEngine(red.rules);
  const fullPatterns = compileEngine(red.rules.map(({ prefilter: _p, ...rule }) => rule));
  const lines = readFileSync(new URL('../fixtures/redaction/eval.jsonl', import.meta.url), 'utf8').split('\n').filter(Boolean);
  assert.ok(lines.length >= 1500);
  for (const line of lines) {
    const { text } = JSON.parse(line) as { text: string };
    assert.deepEqual(withPrefilters.scan(text), fullPatterns.scan(text), text);
  }
});

test('keyword prefilter finds the same as the Set prefilter', () => {
  const k = createRedactor({}, { prefilter: 'keywords' });
  const r = rng(9);
  for (const type of ALL_TYPES) {
    const p = plant(r, type);
    assert.deepEqual(k.findings(p.text), red.findings(p.text), type);
  }
});

test('group spans: the split fast path agrees with leftmost-first captures, and falls back when it cannot', () => {
  const rule = (pattern: string) => createRedactor({ packs: [], rules: [{ name: 'r', type: 't', pattern, group: 'v' }] });
  const span = (pattern: string, text: string) => red2(rule(pattern), text);
  const red2 = (c: ReturnType<typeof createRedactor>, text: string) => c.findings(text).map((f) => text.slice(f.start, f.end));
  // PRE alone is greedier than the whole match allows: the capture starts earlier.
  assert.deepEqual(span('id=a+(?P<v>a[0-9]+)', 'x id=aaaa123 y'), ['a123']);
  // VAL alone is greedier than POST allows.
  assert.deepEqual(span('k=(?P<v>[a-z0-9]+)[0-9]', 'k=abc12 k=zz9'), ['abc1', 'zz']);
  // Flags at the start apply to every part.
  assert.deepEqual(span('(?i)(?:tok:|key=)(?P<v>[a-z]{4,})(?:;|$)', 'TOK:AbCd; KEY=wxyz'), ['AbCd', 'wxyz']);
  // A top-level alternation cannot be split; the group may not take part.
  assert.deepEqual(span('tok:(?P<v>[a-z]{4,})|zzz', 'tok:abcd and zzz'), ['abcd', 'zzz']);
  // Non-ASCII before and inside the match: UTF-16 offsets.
  assert.deepEqual(span('pw=(?P<v>\\S+)', 'ü😀 pw=jürgen😀 ok'), ['jürgen😀']);
  assert.equal(splitAtGroup('a|(?P<v>b)', 'v'), undefined);
  assert.equal(splitAtGroup('a(?P<v>b)+', 'v'), undefined);
  assert.equal(splitAtGroup('a(?i)(?P<v>b)', 'v'), undefined);
  assert.equal(splitAtGroup('(a(?P<v>b))', 'v'), undefined);
  assert.ok(splitAtGroup('(?i)[(|](?:x|y)(?P<v>b(c|d))\\)', 'v'));
  // Every built-in rule with a group takes the fast path.
  for (const r of red.rules) if (r.group) assert.ok(splitAtGroup(r.pattern, r.group), r.name);
});
