// The Teams channel: Adaptive Cards that validate with Microsoft's Adaptive
// Cards SDK, posted to a fake Workflows webhook on loopback, whose buttons
// open the request's decision page; follow-up cards on decision and expiry.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import Fastify from 'fastify';
import { pino } from 'pino';
import { outcomeCard, requestCard, type CardVersion } from '../../approvals/channels/teams/cards.js';
import { teamsConfigSchema, type TeamsConfigInput } from '../../approvals/channels/teams/config.js';
import { startTeamsNotifier, teamsTargets } from '../../approvals/channels/teams/notifier.js';
import { createApprovalEngine } from '../../approvals/engine/engine.js';
import { openJournal } from '../../approvals/log/journal.js';
import { pagesConfigSchema } from '../../approvals/pages/config.js';
import { registerApprovalPages } from '../../approvals/pages/routes.js';
import type { ApprovalRequest, Identity, OpenInput } from '../../approvals/types.js';
import { SelfMetrics } from '../../pipeline/telemetry/metrics.js';
import { adaptiveCardProblems, startFakeTeams, type FakeTeams } from '../helpers/fake-teams.js';

const silent = pino({ level: 'silent' });
const PAGE_URL = 'https://sluice.example.com';
const bob: Identity = { id: 'bob@example.com', name: 'Bob', groups: ['data-owners'], via: 'oidc' };

const openInput = (id: string, channels: string[] = ['teams'], over: Partial<OpenInput> = {}): OpenInput => ({
  approvalId: id,
  actionHash: 'c'.repeat(64),
  action: 'export_table',
  resource: 'warehouse.customers',
  reason: 'quarterly report [click me](https://evil.example) **now**',
  context: { 'sluice.action.arguments': '{"to":"<EMAIL>"}' },
  requester: 'dana@example.com',
  agent: 'report-agent',
  traceId: '0'.repeat(32),
  spanId: '1'.repeat(16),
  policy: { policy: 'prod', rule: 'exports', approvers: { groups: ['data-owners'], users: [] }, minApprovals: 1, timeoutMs: 600_000, onTimeout: 'deny', channels },
  ...over,
});

const sample = (state: ApprovalRequest['state']): ApprovalRequest => ({
  id: 'req-1',
  state,
  createdAt: 1_700_000_000_000,
  expiresAt: 1_700_000_600_000,
  actionHash: 'c'.repeat(64),
  action: 'export_table',
  resource: 'warehouse.customers',
  reason: 'see [docs](https://evil.example)',
  context: { args: '{"table":"customers"}' },
  requester: 'dana@example.com',
  agent: 'report-agent',
  traceId: '0'.repeat(32),
  spanId: '1'.repeat(16),
  policy: { policy: 'prod', rule: 'exports', approvers: { groups: ['data-owners'], users: [] }, minApprovals: 1, timeoutMs: 600_000, onTimeout: 'deny', channels: ['teams'] },
  approvals: state === 'approved' || state === 'executed' ? [{ by: bob, at: 1_700_000_100_000, comment: 'ok', channel: 'page' }] : [],
  denial: state === 'denied' ? { by: bob, at: 1_700_000_100_000, comment: 'not this quarter', channel: 'page' } : undefined,
  messages: [],
});

const card = (m: { attachments: Array<{ content: any }> }) => m.attachments[0]!.content;
/** Every text a reader of the card sees, in order. */
const allText = (c: any): string =>
  c.body.map((b: any) => (b.type === 'RichTextBlock' ? b.inlines.map((i: any) => i.text).join('') : b.text)).join('\n');

describe('teams cards', () => {
  it('validate with the Adaptive Cards SDK at every version Teams renders, request and every outcome', () => {
    for (const v of ['1.2', '1.3', '1.4', '1.5'] as CardVersion[]) {
      assert.deepEqual(adaptiveCardProblems(card(requestCard(sample('pending'), PAGE_URL, v)), v), [], `request card ${v}`);
      for (const s of ['approved', 'denied', 'expired', 'cancelled', 'executed'] as const) assert.deepEqual(adaptiveCardProblems(card(outcomeCard(sample(s), PAGE_URL, v)), v), [], `${s} card ${v}`);
    }
  });

  it('the validator is not a rubber stamp', () => {
    const c = card(requestCard(sample('pending'), PAGE_URL, '1.2'));
    assert.notDeepEqual(adaptiveCardProblems({ ...c, body: [...c.body, { type: 'Table', columns: [], rows: [] }] }, '1.2'), []);
    assert.notDeepEqual(adaptiveCardProblems({ ...c, body: [{ type: 'TextBlock', text: 'x', style: 'heading' }] }, '1.2'), [], '1.5 property in a 1.2 card');
    assert.notDeepEqual(adaptiveCardProblems({ ...c, actions: [{ type: 'Action.OpenUrl', title: 'Approve' }] }, '1.2'), [], 'button without url');
    assert.notDeepEqual(adaptiveCardProblems({ ...c, body: [{ type: 'TextBlock', text: 'x', colour: 'red' }] }, '1.2'), [], 'unknown property');
  });

  it('is a Workflows message whose buttons open the decision page; agent text is never markdown', () => {
    const m = requestCard(sample('pending'), PAGE_URL);
    assert.equal(m.type, 'message');
    assert.equal(m.attachments[0]!.contentType, 'application/vnd.microsoft.card.adaptive');
    const c = card(m);
    assert.deepEqual(
      c.actions.map((a: any) => [a.type, a.title, a.url]),
      [
        ['Action.OpenUrl', 'Approve', `${PAGE_URL}/approvals/req-1?verdict=approve`],
        ['Action.OpenUrl', 'Deny', `${PAGE_URL}/approvals/req-1?verdict=deny`],
      ],
    );
    // The reason sits in a TextRun (plain text), not a TextBlock (markdown).
    const runs = c.body.filter((b: any) => b.type === 'RichTextBlock').flatMap((b: any) => b.inlines.map((i: any) => i.text));
    assert.ok(runs.includes('see [docs](https://evil.example)'));
    assert.equal(c.body.some((b: any) => b.type === 'TextBlock' && b.text.includes('evil.example')), false);
    for (const label of ['report-agent', 'dana@example.com', 'export_table', 'warehouse.customers', 'prod / exports', '0 of 1', '{"table":"customers"}']) assert.ok(allText(c).includes(label), label);
    const denied = card(outcomeCard(sample('denied'), PAGE_URL));
    assert.match(allText(denied), /Denied by Bob \(bob@example.com\) at 2023-11-14 22:15:00 UTC: “not this quarter”/);
    assert.equal(denied.actions[0].url, `${PAGE_URL}/approvals/req-1`);
    assert.match(allText(card(outcomeCard(sample('expired'), PAGE_URL))), /Expired at .* with no decision \(denied by policy\)/);
    const ids = card(requestCard({ ...sample('pending'), id: 'a/b?c' }, PAGE_URL)).actions[0].url;
    assert.equal(ids, `${PAGE_URL}/approvals/a%2Fb%3Fc?verdict=approve`);
  });

  it('config needs a webhook; policies pick webhooks by name', () => {
    assert.equal(teamsConfigSchema.safeParse({}).success, false);
    const c = teamsConfigSchema.parse({ webhook_url: 'https://x.example/wf', webhooks: { sec: 'https://y.example/wf' }, page_url: 'https://s.example/' });
    assert.equal(c.page_url, 'https://s.example');
    const r = (channels: string[]) => teamsTargets({ ...sample('pending'), policy: { ...sample('pending').policy, channels } }, c);
    assert.deepEqual(r(['teams']), ['default']);
    assert.deepEqual(r(['teams:sec', 'slack']), ['sec']);
    assert.deepEqual(r(['teams:unknown']), []);
    assert.deepEqual(r([]), ['default']);
    assert.deepEqual(r(['slack']), []);
  });
});

describe('teams notifier', () => {
  let teams: FakeTeams;
  let dir: string;
  before(async () => {
    teams = await startFakeTeams();
    dir = await mkdtemp(join(tmpdir(), 'sluice-teams-'));
  });
  after(async () => {
    await teams.close();
    await rm(dir, { recursive: true, force: true });
  });

  async function setup(sub: string, cfg: Partial<TeamsConfigInput>, logs?: string[]) {
    const logger = logs
      ? pino({ level: 'debug' }, new Writable({ write: (c, _e, cb) => (logs.push(String(c)), cb()) }))
      : silent;
    const log = await openJournal({ dir: join(dir, sub), logger: silent });
    const engine = await createApprovalEngine({ log, logger: silent });
    const metrics = new SelfMetrics({ defaultMetrics: false });
    const config = teamsConfigSchema.parse({ webhook_url: `${teams.url}/wf/default?sig=SECRET-SIG`, initial_backoff_ms: 5, max_backoff_ms: 20, ...cfg });
    const notifier = startTeamsNotifier({ engine, config, pageUrl: PAGE_URL, logger, metrics });
    return {
      engine,
      metrics,
      notifier,
      async close() {
        notifier.stop();
        await engine.close();
        await log.close();
      },
    };
  }

  it('posts the request card, then a follow-up with the outcome and who decided', async () => {
    const logs: string[] = [];
    const t = await setup('a', {}, logs);
    const start = teams.received.length;
    await t.engine.open(openInput('n1'));
    const [posted] = (await teams.waitFor(start + 1)).slice(start);
    assert.equal(posted!.path, '/wf/default?sig=SECRET-SIG');
    const c = card(posted!.body);
    assert.deepEqual(adaptiveCardProblems(c, '1.5'), []);
    assert.equal(c.actions[0].url, `${PAGE_URL}/approvals/n1?verdict=approve`);
    await t.notifier.idle();
    assert.deepEqual(t.engine.get('n1')!.messages, [{ channel: 'teams', ref: { webhook: 'default' } }]);

    await t.engine.decide({ approvalId: 'n1', verdict: 'deny', by: bob, comment: 'too broad', channel: 'page' });
    const [follow] = (await teams.waitFor(start + 2)).slice(start + 1);
    const f = card(follow!.body);
    assert.deepEqual(adaptiveCardProblems(f, '1.5'), []);
    assert.match(allText(f), /Denied by Bob \(bob@example.com\) at .*: “too broad”/);
    await t.notifier.idle();
    assert.equal(logs.some((l) => l.includes('SECRET-SIG')), false, 'the webhook URL (with its signature) is never logged');
    await t.close();
  });

  it('retries transient failures, gives up on rejections, and counts what it gave up', async () => {
    const logs: string[] = [];
    const t = await setup('b', { webhooks: { sec: `${teams.url}/wf/sec?sig=OTHER-SIG` }, max_attempts: 3 }, logs);
    const start = teams.received.length;
    teams.failNext(503, 429);
    await t.engine.open(openInput('n2', ['teams:sec']));
    await t.notifier.idle();
    assert.equal(teams.received.length, start + 1, 'delivered on the third attempt');
    assert.equal(teams.received.at(-1)!.path, '/wf/sec?sig=OTHER-SIG');

    teams.failNext(400);
    await t.engine.open(openInput('n3', ['teams']));
    await t.notifier.idle();
    teams.failNext(500, 500, 500);
    await t.engine.open(openInput('n4', ['teams']));
    await t.notifier.idle();
    assert.equal(teams.received.length, start + 1);
    const dropped = (await t.metrics.dropped.get()).values.map((v) => [v.labels.component, v.labels.reason, v.value]);
    assert.deepEqual(dropped.sort(), [
      ['teams/default', 'rejected', 1],
      ['teams/default', 'retries_exhausted', 1],
    ]);
    assert.equal(logs.some((l) => l.includes('-SIG')), false);
    await t.close();
  });

  it('posts, after a restart, what opened but was never posted', async () => {
    const log = await openJournal({ dir: join(dir, 'c'), logger: silent });
    const engine = await createApprovalEngine({ log, logger: silent });
    await engine.open(openInput('n5'));
    const start = teams.received.length;
    const notifier = startTeamsNotifier({ engine, config: teamsConfigSchema.parse({ webhook_url: `${teams.url}/wf/default` }), pageUrl: PAGE_URL, logger: silent });
    await notifier.idle();
    assert.equal(teams.received.length, start + 1);
    assert.equal(card(teams.received.at(-1)!.body).actions[0].url, `${PAGE_URL}/approvals/n5?verdict=approve`);
    notifier.stop();
    await engine.close();
    await log.close();
  });

  it("the card's Approve button opens that request's decision page (through sign-in)", async () => {
    const log = await openJournal({ dir: join(dir, 'd'), logger: silent });
    const engine = await createApprovalEngine({ log, logger: silent });
    const app = Fastify();
    const pages = await registerApprovalPages(app, {
      engine,
      config: pagesConfigSchema.parse({ dev_users: [{ id: 'bob@example.com', name: 'Bob', groups: ['data-owners'], password: 'pw' }] }),
      logger: silent,
      listenHost: '127.0.0.1',
    });
    const base = await app.listen({ port: 0, host: '127.0.0.1' });
    const notifier = startTeamsNotifier({ engine, config: teamsConfigSchema.parse({ webhook_url: `${teams.url}/wf/default` }), pageUrl: base, logger: silent });
    const start = teams.received.length;
    await engine.open(openInput('n6'));
    const [posted] = (await teams.waitFor(start + 1)).slice(start);
    const approveUrl: string = card(posted!.body).actions[0].url;
    assert.equal(approveUrl, `${base}/approvals/n6?verdict=approve`);

    const first = await fetch(approveUrl, { redirect: 'manual' });
    assert.equal(first.status, 302);
    const login = new URL(first.headers.get('location')!, base);
    assert.equal(login.searchParams.get('return_to'), '/approvals/n6?verdict=approve');
    const form = await fetch(login, { redirect: 'manual' });
    const flowCookie = form.headers.getSetCookie()[0]!.split(';')[0]!;
    const flow = /name="_flow" value="([^"]+)"/.exec(await form.text())![1]!;
    const signed = await fetch(`${base}/approvals/auth/dev-login`, {
      method: 'POST',
      redirect: 'manual',
      headers: { 'content-type': 'application/x-www-form-urlencoded', cookie: flowCookie },
      body: new URLSearchParams({ _flow: flow, return_to: login.searchParams.get('return_to')!, login: 'bob@example.com', password: 'pw' }).toString(),
    });
    assert.equal(signed.headers.get('location'), '/approvals/n6?verdict=approve');
    const session = signed.headers.getSetCookie().find((c) => c.startsWith('sluice_session='))!.split(';')[0]!;
    const page = await (await fetch(new URL(signed.headers.get('location')!, base), { headers: { cookie: session } })).text();
    assert.match(page, /<code>export_table<\/code> on <code>warehouse.customers<\/code>/);
    assert.match(page, /<code>n6<\/code>/);
    assert.match(page, /class="approve preferred"/);

    notifier.stop();
    pages.stop();
    await app.close();
    await engine.close();
    await log.close();
  });
});
