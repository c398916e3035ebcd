import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Readable, Writable } from 'node:stream';
import { findingsLine, redactionConfigOf, runFindings, runRedact } from '../../cli/commands/redact.js';
import { createRedactor } from '../../processors/redaction/index.js';

function sink(): { stream: Writable; text: () => string } {
  const chunks: string[] = [];
  return {
    stream: new Writable({
      write(c: Buffer, _e, cb) {
        chunks.push(c.toString());
        cb();
      },
    }),
    text: () => chunks.join(''),
  };
}

test('sluice redact: stdin to stdout, whole text (PEM blocks span lines)', async () => {
  const out = sink();
  await runRedact(createRedactor({}), Readable.from(['key:\n-----BEGIN EC PRIVATE KEY-----\nMHcCAQEE\n', '-----END EC PRIVATE KEY-----\nmail a.b@example.com\n']), out.stream);
  assert.equal(out.text(), 'key:\n[REDACTED:private_key]\nmail [REDACTED:email]\n');
});

test('sluice redact --findings: one JSON line per input line, UTF-16 offsets', async () => {
  const out = sink();
  await runFindings(createRedactor({}), Readable.from(['{"text": "😀 bob@example.com"}\n', '\n', '{"text": "clean"}\n']), out.stream);
  assert.deepEqual(out.text().trim().split('\n').map((l) => JSON.parse(l)), [
    { findings: [{ start: 3, end: 18, type: 'email', rule: 'email' }] },
    { findings: [] },
    { findings: [] },
  ]);
  assert.throws(() => findingsLine(createRedactor({}), 'not json: secret ghp_x', 7), (e: Error) => /line 7: not JSON/.test(e.message) && !e.message.includes('ghp_'));
});

test('the redaction entry of a loaded config, or the defaults', () => {
  assert.deepEqual(redactionConfigOf({ batch: {}, redaction: { packs: ['pii'] } }), { packs: ['pii'] });
  assert.deepEqual(redactionConfigOf({ 'redaction/strict': { default_mode: 'hash' } }), { default_mode: 'hash' });
  assert.equal(redactionConfigOf({ batch: {} }), undefined);
});
