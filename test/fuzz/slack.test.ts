// Fuzzing POST /slack/interactions, the one endpoint the internet reaches
// without a bearer token: anything unsigned, mis-signed, stale or replayed is
// 401 and decides nothing; anything signed but malformed is a 4xx or an empty
// 200 (Slack's ack) and decides nothing; the server stays up.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { createHmac } from 'node:crypto';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import fc from 'fast-check';
import { startTestService, type TestService } from '../helpers/service.js';
import { buttonClick, signedInteraction, startFakeSlack, type FakeSlack } from '../helpers/fake-slack.js';

const SIGNING = 'fuzz-signing-secret-0123456789';
const BOT = 'xoxb-fuzz';

function sign(body: Buffer | string, ts: string, secret = SIGNING): string {
  return `v0=${createHmac('sha256', secret).update(`v0:${ts}:`).update(body).digest('hex')}`;
}

describe('Slack interaction endpoint under hostile input', () => {
  let dir: string;
  let slack: FakeSlack;
  let svc: TestService;
  let url: string;
  const events: string[] = [];

  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'sluice-fuzz-slack-'));
    slack = await startFakeSlack({ botToken: BOT });
    await writeFile(join(dir, 'policy.yaml'), 'version: 1\nname: fuzz\nrules: []\n');
    svc = await startTestService({
      dataDir: join(dir, 'data'),
      exporters: { yaml: '  debug: {}', ids: ['debug'] },
      logLevel: 'silent',
      approvals: `  policy_file: "${join(dir, 'policy.yaml')}"
  channels:
    slack: { bot_token: ${BOT}, signing_secret: ${SIGNING}, api_url: "${slack.apiUrl}", channel: "#approvals" }
`,
    });
    url = `http://127.0.0.1:${svc.ports.api}/slack/interactions`;
    svc.engine!.onEvent((e) => events.push(e.type));
  });
  after(async () => {
    await svc?.cleanup();
    await slack?.close();
    await rm(dir, { recursive: true, force: true });
  });

  async function post(body: Buffer | string, headers: Record<string, string>) {
    const res = await fetch(url, { method: 'POST', headers, body, signal: AbortSignal.timeout(20_000) });
    return { status: res.status, text: await res.text() };
  }

  const headerValue = fc.oneof(fc.string({ maxLength: 80 }), fc.constantFrom('', 'v0=', 'v1=abc', `v0=${'0'.repeat(64)}`, '-1', '99999999999999999999', 'NaN'));
  const body = fc.oneof(
    fc.uint8Array({ maxLength: 2048 }).map((u) => Buffer.from(u)),
    fc.json().map((j) => Buffer.from(`payload=${encodeURIComponent(j)}`)),
    fc.constant(Buffer.from(new URLSearchParams({ payload: JSON.stringify(buttonClick({ userId: 'UEVIL', actionId: 'sluice_approve', approvalId: 'x', channel: 'C1', ts: '1.1' })) }).toString())),
  );

  test('unsigned, mis-signed and garbage-signed requests are 401 with a reason', async () => {
    await fc.assert(
      fc.asyncProperty(body, fc.option(headerValue), fc.option(headerValue), fc.boolean(), async (b, sig, ts, wrongSecret) => {
        const headers: Record<string, string> = { 'content-type': 'application/x-www-form-urlencoded' };
        const now = String(Math.floor(Date.now() / 1000));
        if (wrongSecret) {
          headers['x-slack-request-timestamp'] = now;
          headers['x-slack-signature'] = sign(b, now, 'not-the-secret');
        } else {
          if (sig !== null) headers['x-slack-signature'] = sig.replace(/[^\x20-\x7e]/g, '');
          if (ts !== null) headers['x-slack-request-timestamp'] = ts.replace(/[^\x20-\x7e]/g, '');
        }
        const r = await post(b, headers);
        assert.equal(r.status, 401, r.text);
        assert.match(r.text, /"message":"[^"]+"/);
      }),
      { numRuns: 150, seed: Number(process.env.FUZZ_SEED ?? 21) },
    );
    assert.deepEqual(events, [], 'no event at all from unsigned requests');
  });

  test('a validly signed request older than five minutes is 401 (no replay window)', async () => {
    const stale = signedInteraction(SIGNING, buttonClick({ userId: 'U1', actionId: 'sluice_approve', approvalId: 'x', channel: 'C1', ts: '1.1' }), { timestamp: Math.floor(Date.now() / 1000) - 301 });
    assert.equal((await post(stale.body, stale.headers)).status, 401);
    const future = signedInteraction(SIGNING, buttonClick({ userId: 'U1', actionId: 'sluice_approve', approvalId: 'x', channel: 'C1', ts: '1.1' }), { timestamp: Math.floor(Date.now() / 1000) + 301 });
    assert.equal((await post(future.body, future.headers)).status, 401);
  });

  test('a replayed signed request is 401 the second time', async () => {
    const req = signedInteraction(SIGNING, buttonClick({ userId: 'U1', actionId: 'sluice_approve', approvalId: 'does-not-exist', channel: 'C1', ts: '1.1' }));
    const first = await post(req.body, req.headers);
    assert.ok(first.status < 500, `first use: ${first.status}`);
    const again = await post(req.body, req.headers);
    assert.equal(again.status, 401);
    assert.match(again.text, /replay/);
  });

  test('signed but malformed bodies (random bytes, random JSON, wrong shapes, 1 MB): a 4xx or an empty ack, never 5xx', async () => {
    const signedBody = fc.oneof(
      body,
      fc.constant(Buffer.from(`payload=${'x'.repeat(900 * 1024)}`)),
      fc.constant(Buffer.alloc(2 * 1024 * 1024, 0x61)),
      fc.json({ maxDepth: 8 }).map((j) => Buffer.from(new URLSearchParams({ payload: j }).toString())),
      fc.record({ type: fc.constantFrom('block_actions', 'view_submission', 'shortcut', 'x'), user: fc.anything(), actions: fc.anything(), view: fc.anything() }).map((p) =>
        Buffer.from(new URLSearchParams({ payload: JSON.stringify(p, (_k, v) => (typeof v === 'bigint' ? String(v) : v)) ?? 'null' }).toString()),
      ),
    );
    await fc.assert(
      fc.asyncProperty(signedBody, fc.nat(), async (b, salt) => {
        // A distinct timestamp per request, so the replay guard never mistakes two runs for a replay.
        const ts = String(Math.floor(Date.now() / 1000) - (salt % 200));
        const r = await post(b, { 'content-type': 'application/x-www-form-urlencoded', 'x-slack-request-timestamp': ts, 'x-slack-signature': sign(b, ts) });
        assert.ok(r.status < 500, `status ${r.status}: ${r.text.slice(0, 200)}`);
      }),
      { numRuns: 120, seed: Number(process.env.FUZZ_SEED ?? 22) },
    );
    assert.deepEqual(events.filter((t) => t !== 'decision_refused'), [], 'nothing was opened or decided');
    assert.equal((await fetch(`http://127.0.0.1:${svc.ports.admin}/healthz`)).status, 200);
  });
});
