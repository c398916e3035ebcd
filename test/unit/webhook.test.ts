import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { createServer, type IncomingHttpHeaders, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pino } from 'pino';
import { createApprovalEngine, type LocalApprovalEngine } from '../../approvals/engine/engine.js';
import { openJournal, type JournalLog } from '../../approvals/log/journal.js';
import { webhooksConfigSchema } from '../../approvals/channels/config.js';
import { startWebhookNotifier } from '../../approvals/channels/webhook/notifier.js';
import { verifyWebhookSignature, webhookSignature } from '../../approvals/channels/webhook/sign.js';
import { SelfMetrics } from '../../pipeline/telemetry/metrics.js';
import type { OpenInput } from '../../approvals/types.js';

const SECRET = 'webhook-secret-0123456789';
const logger = pino({ level: 'silent' });

interface Received {
  headers: IncomingHttpHeaders;
  body: string;
}

async function receiver(answer: (n: number) => number, gate: Promise<void> = Promise.resolve()) {
  const got: Received[] = [];
  let n = 0;
  const server: Server = createServer((req, res) => {
    let body = '';
    req.on('data', (c) => (body += c));
    req.on('end', () => {
      got.push({ headers: req.headers, body });
      const status = answer(++n);
      void gate.then(() => {
        res.statusCode = status;
        res.end();
      });
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  return { url: `http://127.0.0.1:${(server.address() as AddressInfo).port}/hook`, got, close: () => new Promise<void>((r) => server.close(() => r())) };
}

const open = (id: string): OpenInput => ({
  approvalId: id,
  actionHash: 'e'.repeat(64),
  action: 'grant_role',
  resource: 'iam/admin',
  reason: 'on-call',
  context: { arg: '<EMAIL>' },
  requester: 'dana@example.com',
  agent: 'ops-agent',
  traceId: '1'.repeat(32),
  spanId: '2'.repeat(16),
  policy: { policy: 'p', rule: 'r', approvers: { groups: ['sre'], users: [] }, minApprovals: 1, timeoutMs: 60_000, onTimeout: 'deny', channels: ['webhook/audit'] },
});

describe('webhook signature', () => {
  it('is HMAC-SHA256 of "<timestamp>.<body>", checked in constant time with a freshness window', () => {
    const sig = webhookSignature(SECRET, '1700000000', '{"a":1}');
    assert.match(sig, /^sha256=[0-9a-f]{64}$/);
    assert.equal(verifyWebhookSignature(SECRET, { signature: sig, timestamp: '1700000000' }, '{"a":1}', { nowSeconds: 1700000100 }), true);
    assert.equal(verifyWebhookSignature(SECRET, { signature: sig, timestamp: '1700000000' }, '{"a":2}', { nowSeconds: 1700000100 }), false);
    assert.equal(verifyWebhookSignature('another-secret-0123456', { signature: sig, timestamp: '1700000000' }, '{"a":1}', { nowSeconds: 1700000100 }), false);
    assert.equal(verifyWebhookSignature(SECRET, { signature: sig, timestamp: '1700000000' }, '{"a":1}', { nowSeconds: 1700000400 }), false);
  });
});

describe('webhook delivery', () => {
  let dir: string;
  let log: JournalLog;
  let engine: LocalApprovalEngine;
  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'sluice-webhook-'));
    log = await openJournal({ dir, logger });
    engine = await createApprovalEngine({ log, logger });
  });
  after(async () => {
    await engine.close();
    await log.close();
    await rm(dir, { recursive: true, force: true });
  });

  it('delivers each event signed, in order, retrying 5xx with backoff', async () => {
    const rx = await receiver((n) => (n <= 2 ? 503 : 204));
    const metrics = new SelfMetrics({ defaultMetrics: false });
    const hooks = webhooksConfigSchema.parse([{ name: 'audit', url: rx.url, secret: SECRET, initial_backoff_ms: 2, max_backoff_ms: 10 }]);
    const n = startWebhookNotifier({ engine, webhooks: hooks, logger, metrics });
    await engine.open(open('w1'));
    await engine.decide({ approvalId: 'w1', verdict: 'deny', by: { id: 'sam@example.com', groups: ['sre'], via: 'oidc' }, comment: 'not now', channel: 'api' });
    await n.idle();
    n.stop();
    await rx.close();
    assert.equal(rx.got.length, 4, 'opened twice refused, then opened and denied');
    const delivered = rx.got.slice(2).map((r) => JSON.parse(r.body));
    assert.deepEqual(delivered.map((d) => d.event.type), ['opened', 'denied']);
    assert.equal(delivered[1].request.state, 'denied');
    assert.deepEqual(delivered[1].event.actor.id, 'sam@example.com');
    for (const r of rx.got) {
      assert.ok(verifyWebhookSignature(SECRET, { signature: r.headers['x-sluice-signature'] as string, timestamp: r.headers['x-sluice-timestamp'] as string }, r.body));
      assert.equal(r.headers['content-type'], 'application/json');
    }
    assert.equal(rx.got[0].headers['x-sluice-delivery'], rx.got[2].headers['x-sluice-delivery'], 'retries keep the delivery id');
    assert.equal((await metrics.dropped.get()).values.length, 0);
  });

  it('gives up after max_attempts, does not retry a 4xx, filters by event type, and counts what it gave up', async () => {
    const failing = await receiver(() => 500);
    const rejecting = await receiver(() => 400);
    const metrics = new SelfMetrics({ defaultMetrics: false });
    const hooks = webhooksConfigSchema.parse([
      { name: 'down', all_requests: true, url: failing.url, secret: SECRET, max_attempts: 3, initial_backoff_ms: 1, max_backoff_ms: 4, events: ['opened'] },
      { name: 'strict', all_requests: true, url: rejecting.url, secret: SECRET, events: ['opened'] },
    ]);
    const n = startWebhookNotifier({ engine, webhooks: hooks, logger, metrics });
    await engine.open(open('w2'));
    await engine.cancel('w2', { id: 'token:agent', groups: [], via: 'token' }, 'no longer needed');
    await n.idle();
    n.stop();
    await failing.close();
    await rejecting.close();
    assert.equal(failing.got.length, 3);
    assert.equal(rejecting.got.length, 1);
    const dropped = (await metrics.dropped.get()).values.map((v) => [v.labels.component, v.labels.reason, v.value]);
    assert.deepEqual(dropped.sort(), [
      ['webhook/down', 'retries_exhausted', 1],
      ['webhook/strict', 'rejected', 1],
    ]);
  });

  it("routes a request's events by its policy channels; violations go to every webhook", async () => {
    const audit = await receiver(() => 204);
    const other = await receiver(() => 204);
    const hooks = webhooksConfigSchema.parse([
      { name: 'audit', url: audit.url, secret: SECRET },
      { name: 'other', url: other.url, secret: SECRET },
    ]);
    const n = startWebhookNotifier({ engine, webhooks: hooks, logger });
    await engine.open(open('w6'));
    await engine.recordViolation('ungated', { rule: 'r', spanId: '3'.repeat(16), traceId: '4'.repeat(32) });
    await n.idle();
    n.stop();
    await audit.close();
    await other.close();
    assert.deepEqual(audit.got.map((r) => JSON.parse(r.body).event.type), ['opened', 'ungated']);
    assert.deepEqual(other.got.map((r) => JSON.parse(r.body).event.type), ['ungated']);
  });

  it('bounds its queue and counts overflow', async () => {
    let release!: () => void;
    const slow = await receiver(() => 204, new Promise<void>((r) => (release = r)));
    const metrics = new SelfMetrics({ defaultMetrics: false });
    const n = startWebhookNotifier({ engine, webhooks: webhooksConfigSchema.parse([{ name: 'small', all_requests: true, url: slow.url, secret: SECRET, queue_size: 1 }]), logger, metrics });
    // w3 is in flight (held by the receiver), w4 waits in the queue, w5 finds it full.
    for (const id of ['w3', 'w4', 'w5']) await engine.open(open(id));
    release();
    await n.idle();
    n.stop();
    await slow.close();
    assert.deepEqual(slow.got.map((r) => JSON.parse(r.body).event.approvalId), ['w3', 'w4']);
    const overflow = (await metrics.dropped.get()).values.map((v) => [v.labels.component, v.labels.reason, v.value]);
    assert.deepEqual(overflow, [['webhook/small', 'queue_full', 1]]);
  });
});
