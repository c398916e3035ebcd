import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Fastify, { type FastifyInstance } from 'fastify';
import { pino } from 'pino';
import { createApprovalEngine, type LocalApprovalEngine } from '../../approvals/engine/engine.js';
import { openJournal, type JournalLog } from '../../approvals/log/journal.js';
import { slackConfigSchema } from '../../approvals/channels/slack/config.js';
import { startSlackChannel, type SlackChannel } from '../../approvals/channels/slack/channel.js';
import { createSlackSocket } from '../../approvals/channels/slack/socket.js';
import { requestMessage } from '../../approvals/channels/slack/blocks.js';
import { slackSignature, verifySlackSignature, ReplayGuard } from '../../approvals/channels/slack/signature.js';
import type { ApprovalEvent, OpenInput } from '../../approvals/types.js';
import { buttonClick, denySubmission, sendInteraction, signedInteraction, startFakeSlack, type FakeSlack } from '../helpers/fake-slack.js';

const BOT = 'xoxb-test-bot-token';
const SECRET = 'slack-signing-secret-for-tests';
const logger = pino({ level: 'silent' });
let seq = 0;

const openInput = (over: Partial<OpenInput> = {}): OpenInput => ({
  approvalId: `req-${++seq}`,
  actionHash: 'c'.repeat(64),
  action: 'export_table',
  resource: 'warehouse.customers',
  reason: 'send the churn list to <EMAIL>',
  context: { 'sluice.action.arguments': '{"table":"customers","to":"<EMAIL>","key":"<SECRET:aws_key>"}' },
  requester: 'dana@example.com',
  agent: 'report-agent',
  traceId: 'ab'.repeat(16),
  spanId: 'cd'.repeat(8),
  policy: { policy: 'prod', rule: 'exports', approvers: { groups: ['data-owners'], users: [] }, minApprovals: 1, timeoutMs: 600_000, onTimeout: 'deny', channels: ['slack:#approvals'] },
  ...over,
});

describe('slack signature', () => {
  const body = Buffer.from('payload=%7B%7D');
  const now = 1_700_000_000;
  const sig = slackSignature(SECRET, String(now), body);
  it('accepts Slack v0 signatures and refuses forged, stale or missing ones', () => {
    assert.deepEqual(verifySlackSignature(SECRET, { signature: sig, timestamp: String(now) }, body, now + 299), { ok: true });
    assert.equal(verifySlackSignature('other-secret', { signature: sig, timestamp: String(now) }, body, now).ok, false);
    assert.equal(verifySlackSignature(SECRET, { signature: sig, timestamp: String(now) }, Buffer.from('payload=%7B%7Dx'), now).ok, false);
    assert.equal(verifySlackSignature(SECRET, { signature: sig, timestamp: String(now) }, body, now + 301).ok, false);
    assert.equal(verifySlackSignature(SECRET, { signature: sig.slice(0, -1), timestamp: String(now) }, body, now).ok, false);
    assert.equal(verifySlackSignature(SECRET, { timestamp: String(now) }, body, now).ok, false);
  });
  it('the replay guard accepts a signature once per window', () => {
    const g = new ReplayGuard();
    assert.equal(g.firstUse('v0=a', now), true);
    assert.equal(g.firstUse('v0=a', now + 100), false);
    assert.equal(g.firstUse('v0=b', now + 100), true);
    assert.equal(g.firstUse('v0=a', now + 601), true, 'forgotten past the window (the timestamp check refuses it there)');
  });
});

describe('slack channel (http mode, fake Slack)', () => {
  let dir: string;
  let log: JournalLog;
  let engine: LocalApprovalEngine;
  let slack: FakeSlack;
  let app: FastifyInstance;
  let channel: SlackChannel;
  let url: string;
  const events: ApprovalEvent[] = [];

  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'sluice-slack-'));
    log = await openJournal({ dir, logger });
    engine = await createApprovalEngine({ log, logger });
    engine.onEvent((e) => events.push(e));
    slack = await startFakeSlack({
      botToken: BOT,
      users: [
        { id: 'UALICE', email: 'alice@example.com', name: 'Alice Approver' },
        { id: 'UDANA', email: 'dana@example.com', name: 'Dana Requester' },
        { id: 'UMALLORY', email: 'mallory@example.com', name: 'Mallory' },
        { id: 'UNOMAIL', name: 'No Email' },
      ],
    });
    const config = slackConfigSchema.parse({
      bot_token: BOT,
      signing_secret: SECRET,
      api_url: slack.apiUrl,
      channel: '#approvals',
      groups: { 'data-owners': ['alice@example.com', 'dana@example.com', 'UBOB'] },
      user_map: { UBOB: 'bob@example.com' },
      retries: 0,
    });
    app = Fastify();
    channel = await startSlackChannel({ engine, config, logger, app });
    url = `${await app.listen({ port: 0, host: '127.0.0.1' })}/slack/interactions`;
  });
  after(async () => {
    await channel.stop();
    await app.close();
    await slack.close();
    await engine.close();
    await log.close();
    await rm(dir, { recursive: true, force: true });
  });

  const openAndPost = async (over: Partial<OpenInput> = {}) => {
    const { request } = await engine.open(openInput(over));
    const post = await slack.waitFor('chat.postMessage', (c) => JSON.stringify(c.args.blocks).includes(request.id));
    await channel.notifier.idle();
    return { id: request.id, post, ts: post.args.ts as string | undefined, msg: engine.get(request.id)!.messages[0].ref };
  };
  const click = (userId: string, actionId: 'sluice_approve' | 'sluice_deny', id: string, ref: Record<string, string>) =>
    sendInteraction(url, signedInteraction(SECRET, buttonClick({ userId, actionId, approvalId: id, channel: ref.channel, ts: ref.ts })));

  it('posts Block Kit with who, what, why, policy, expiry and buttons, from redacted context only', async () => {
    const { id, post, msg } = await openAndPost();
    assert.equal(post.token, BOT);
    assert.equal(post.args.channel, '#approvals');
    const blocks = JSON.stringify(post.args.blocks);
    for (const s of ['export_table', 'warehouse.customers', 'dana@example.com', 'report-agent', 'prod / exports', '<!date^', '&lt;EMAIL&gt;', '&lt;SECRET:aws_key&gt;'])
      assert.ok(blocks.includes(s), `message shows ${s}`);
    const actions = post.args.blocks.find((b: any) => b.type === 'actions');
    assert.deepEqual(
      actions.elements.map((e: any) => [e.action_id, e.style, e.value]),
      [['sluice_approve', 'primary', id], ['sluice_deny', 'danger', id]],
    );
    assert.match(msg.channel, /^C/);
    assert.ok(msg.ts);
    assert.ok(events.some((e) => e.type === 'notified' && e.approvalId === id));
  });

  it('an eligible click approves and the message is updated by channel + ts with who decided', async () => {
    const { id, msg } = await openAndPost();
    const r = await click('UALICE', 'sluice_approve', id, msg);
    assert.equal(r.status, 200);
    assert.equal(engine.get(id)!.state, 'approved');
    assert.equal(engine.get(id)!.approvals[0].by.id, 'alice@example.com');
    assert.equal(engine.get(id)!.approvals[0].channel, 'slack');
    const upd = await slack.waitFor('chat.update', (c) => c.args.ts === msg.ts && JSON.stringify(c.args.blocks).includes('Approved'));
    assert.equal(upd.args.channel, msg.channel);
    assert.ok(JSON.stringify(upd.args.blocks).includes('Alice Approver (alice@example.com)'));
    assert.ok(!JSON.stringify(upd.args.blocks).includes('sluice_approve'), 'buttons are gone');
  });

  it('the requester, a non-member and an unresolvable user are refused, told so, and audited', async () => {
    const { id, msg } = await openAndPost();
    for (const u of ['UDANA', 'UMALLORY', 'UNOMAIL']) {
      assert.equal((await click(u, 'sluice_approve', id, msg)).status, 200);
      await slack.waitFor('chat.postEphemeral', (c) => c.args.user === u && c.args.channel === msg.channel);
    }
    assert.equal(engine.get(id)!.state, 'pending');
    const refused = events.filter((e) => e.type === 'decision_refused' && e.approvalId === id).map((e) => e.actor?.id);
    assert.deepEqual(refused, ['dana@example.com', 'mallory@example.com', 'slack:UNOMAIL']);
  });

  it('user_map resolves users without users.info email; groups may list Slack ids', async () => {
    const { id, msg } = await openAndPost();
    await click('UBOB', 'sluice_approve', id, msg);
    assert.equal(engine.get(id)!.state, 'approved');
    assert.equal(engine.get(id)!.approvals[0].by.id, 'bob@example.com');
  });

  it('deny asks for a reason in a modal, then denies and shows who and why', async () => {
    const { id, msg } = await openAndPost({ policy: { ...openInput().policy, minApprovals: 2 } });
    const trigger = 'trigger-deny-1';
    await sendInteraction(url, signedInteraction(SECRET, buttonClick({ userId: 'UALICE', actionId: 'sluice_deny', approvalId: id, channel: msg.channel, ts: msg.ts, triggerId: trigger })));
    const open = await slack.waitFor('views.open', (c) => c.args.trigger_id === trigger);
    assert.equal(open.args.view.type, 'modal');
    assert.equal(engine.get(id)!.state, 'pending', 'nothing decided before the reason');
    const empty = await sendInteraction(url, signedInteraction(SECRET, denySubmission({ userId: 'UALICE', privateMetadata: open.args.view.private_metadata, reason: ' ' })));
    assert.equal(empty.status, 200);
    assert.equal(JSON.parse(empty.body).response_action, 'errors');
    const ok = await sendInteraction(url, signedInteraction(SECRET, denySubmission({ userId: 'UALICE', privateMetadata: open.args.view.private_metadata, reason: 'no DPA for this export' })));
    assert.equal(ok.status, 200);
    assert.equal(ok.body, '');
    const r = engine.get(id)!;
    assert.equal(r.state, 'denied');
    assert.equal(r.denial?.comment, 'no DPA for this export');
    const upd = await slack.waitFor('chat.update', (c) => c.args.ts === msg.ts && JSON.stringify(c.args.blocks).includes('Denied'));
    assert.ok(JSON.stringify(upd.args.blocks).includes('no DPA for this export'));
  });

  it('a refused deny (requester) shows the refusal in the modal', async () => {
    const { id, msg } = await openAndPost();
    const meta = JSON.stringify({ id, channel: msg.channel, ts: msg.ts });
    const r = await sendInteraction(url, signedInteraction(SECRET, denySubmission({ userId: 'UDANA', privateMetadata: meta, reason: 'i changed my mind' })));
    assert.match(JSON.parse(r.body).errors.reason, /requester/);
    assert.equal(engine.get(id)!.state, 'pending');
  });

  it('401 for a forged, stale or replayed signature, before anything is read', async () => {
    const { id, msg } = await openAndPost();
    const payload = buttonClick({ userId: 'UALICE', actionId: 'sluice_approve', approvalId: id, channel: msg.channel, ts: msg.ts });
    const forged = await sendInteraction(url, signedInteraction(SECRET, payload, { secretOverride: 'guessed-secret' }));
    const stale = await sendInteraction(url, signedInteraction(SECRET, payload, { timestamp: Math.floor(Date.now() / 1000) - 301 }));
    const unsigned = await sendInteraction(url, { body: signedInteraction(SECRET, payload).body, headers: { 'content-type': 'application/x-www-form-urlencoded' } });
    for (const r of [forged, stale, unsigned]) assert.equal(r.status, 401);
    assert.equal(engine.get(id)!.state, 'pending');
    // A replay of a genuine request: the first is honoured, the copy refused.
    const genuine = signedInteraction(SECRET, { ...payload, actions: payload.actions });
    const deny = signedInteraction(SECRET, buttonClick({ userId: 'UMALLORY', actionId: 'sluice_approve', approvalId: id, channel: msg.channel, ts: msg.ts }));
    assert.equal((await sendInteraction(url, deny)).status, 200);
    assert.equal((await sendInteraction(url, deny)).status, 401);
    assert.equal((await sendInteraction(url, genuine)).status, 200);
    assert.equal(engine.get(id)!.state, 'approved');
    const refused = events.filter((e) => e.type === 'decision_refused' && e.approvalId === id);
    assert.equal(refused.length, 1, 'the replayed refusal was not processed twice');
  });

  it('expiry updates the message', async () => {
    const { id, msg } = await openAndPost({ policy: { ...openInput().policy, timeoutMs: 1 } });
    await engine.waitForDecision(id, 5_000);
    assert.equal(engine.get(id)!.state, 'expired');
    await slack.waitFor('chat.update', (c) => c.args.ts === msg.ts && JSON.stringify(c.args.blocks).includes('Expired'));
  });

  it('Socket Mode delivers interactions to the same handler and acks with its answer', async () => {
    const { id, msg } = await openAndPost();
    const socket = await createSlackSocket({ appToken: 'xapp-test', apiUrl: slack.apiUrl, handler: channel.handler, logger });
    const acks: unknown[] = [];
    const acked = new Promise<void>((resolve) =>
      socket.client.emit('interactive', {
        body: buttonClick({ userId: 'UALICE', actionId: 'sluice_approve', approvalId: id, channel: msg.channel, ts: msg.ts }),
        ack: async (r?: unknown) => {
          acks.push(r);
          resolve();
        },
      }),
    );
    await acked;
    assert.deepEqual(acks, [undefined]);
    assert.equal(engine.get(id)!.state, 'approved');
    // A deny-modal submission over the socket acks with the validation answer.
    const { id: id2 } = await openAndPost();
    const answer = await new Promise<unknown>((resolve) =>
      socket.client.emit('interactive', {
        body: denySubmission({ userId: 'UALICE', privateMetadata: JSON.stringify({ id: id2 }), reason: '' }),
        ack: async (r?: unknown) => resolve(r),
      }),
    );
    assert.equal((answer as any).response_action, 'errors');
  });

  it('requestMessage escapes mrkdwn so placeholders cannot become links or mentions', () => {
    const { blocks } = requestMessage({ ...engine.list()[0], reason: '<!channel> <https://evil.example|click>' });
    const s = JSON.stringify(blocks);
    assert.ok(!s.includes('<!channel>'));
    assert.ok(!s.includes('<https://evil'));
  });
});
