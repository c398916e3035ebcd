// Action-level approvals end to end: the real OpenTelemetry SDK and
// requireApproval/withApproval against a started Sluice (OTLP receiver →
// redaction → privileged → engine + journal → REST API / Slack), a fake OIDC
// issuer and a fake Slack on loopback.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { readFile, mkdtemp, writeFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { resourceFromAttributes } from '@opentelemetry/resources';
import { BasicTracerProvider, SimpleSpanProcessor } from '@opentelemetry/sdk-trace-base';
import { OTLPTraceExporter } from '@opentelemetry/exporter-trace-otlp-proto';
import { ApprovalAttr, type ApprovalEvent } from '../../approvals/types.js';
import { ApprovalDeniedError, requireApproval, withApproval, type RequireApprovalOptions } from '../../sdk/index.js';
import { startFakeOidc, type FakeOidc } from '../helpers/fake-oidc.js';
import { buttonClick, denySubmission, sendInteraction, signedInteraction, startFakeSlack, type FakeSlack } from '../helpers/fake-slack.js';
import { startTestService, type TestService } from '../helpers/service.js';

const AGENT_TOKEN = 'e2e-agent-token-0123456789abcdef';
const BOT = 'xoxb-e2e-bot';
const SIGNING = 'e2e-slack-signing-secret';
const REQUESTER = 'dana@example.com';

const POLICY = `
version: 1
name: e2e
rules:
  - name: export-table
    match: { action: export_table }
    effect: require_approval
    require_approval:
      approvers: { groups: [data-owners] }
      timeout: 10m
      channels: [slack]
  - name: grant-role-two
    match: { action: grant_role }
    effect: require_approval
    require_approval:
      approvers: { groups: [security] }
      min_approvals: 2
      timeout: 10m
      channels: [slack]
  - name: rotate-key-fast
    match: { action: rotate_key }
    effect: require_approval
    require_approval:
      approvers: { groups: [security] }
      timeout: 300ms
      channels: [slack]
`;

interface Env {
  idp: FakeOidc;
  slack: FakeSlack;
  dir: string;
  policyFile: string;
}

async function startSluice(env: Env, dataDir?: string): Promise<TestService> {
  return startTestService({
    dataDir,
    processors: `  redaction: {}\n  privileged: {}`,
    tracesProcessors: ['redaction', 'privileged'],
    exporters: { yaml: '  debug: {}', ids: ['debug'] },
    approvals: `  policy_file: "${env.policyFile}"
  auth:
    oidc: { issuer: "${env.idp.issuer}", audience: sluice }
    tokens:
      - { name: agent, value: "${AGENT_TOKEN}", scopes: [ingest, request] }
  channels:
    slack:
      bot_token: ${BOT}
      signing_secret: ${SIGNING}
      api_url: "${env.slack.apiUrl}"
      channel: "#approvals"
      groups:
        data-owners: [alice@example.com, ${REQUESTER}]
        security: [alice@example.com, sam@example.com]
`,
  });
}

function agentProvider(service: TestService) {
  const provider = new BasicTracerProvider({
    resource: resourceFromAttributes({ 'service.name': 'report-agent', 'deployment.environment': 'prod' }),
    spanProcessors: [new SimpleSpanProcessor(new OTLPTraceExporter({ url: `http://127.0.0.1:${service.ports.http}/v1/traces` }))],
  });
  return provider;
}

function nextOpened(service: TestService, action: string): Promise<string> {
  return new Promise((resolve) => {
    const off = service.engine!.onEvent((e, r) => {
      if (e.type === 'opened' && r?.action === action) {
        off();
        resolve(e.approvalId);
      }
    });
  });
}

/** Where the Slack message of a request is (after the `notified` event is durable). */
function slackRef(service: TestService, id: string): Promise<Record<string, string>> {
  const now = service.engine!.get(id)?.messages.find((m) => m.channel === 'slack');
  if (now) return Promise.resolve(now.ref);
  return new Promise((resolve) => {
    const off = service.engine!.onEvent((e, r) => {
      const m = r?.messages.find((x) => x.channel === 'slack');
      if (e.approvalId === id && m) {
        off();
        resolve(m.ref);
      }
    });
  });
}

async function api(service: TestService, method: string, path: string, token: string, body?: unknown) {
  const res = await fetch(`http://127.0.0.1:${service.ports.api}${path}`, {
    method,
    headers: { authorization: `Bearer ${token}`, ...(body ? { 'content-type': 'application/json' } : {}) },
    body: body ? JSON.stringify(body) : undefined,
  });
  return { status: res.status, body: (await res.json()) as any };
}

async function journal(service: TestService): Promise<ApprovalEvent[]> {
  const text = await readFile(join(service.dataDir, 'approvals', 'journal.jsonl'), 'utf8');
  return text.trim().split('\n').map((l) => JSON.parse(l));
}

describe('approvals end to end', () => {
  const env = {} as Env;
  let service: TestService;
  let provider: BasicTracerProvider;
  const person = (email: string, groups: string[] = []) => env.idp.mint({ sub: email, email, groups });

  const ask = (o: Partial<RequireApprovalOptions> & { action: string }) =>
    requireApproval({
      resource: 'warehouse.customers',
      reason: 'weekly churn report for dana.private@example.com',
      arguments: { table: 'customers', notify: 'dana.private@example.com', key: 'AKIAIOSFODNN7EXAMPLE' },
      attributes: { [ApprovalAttr.requester]: REQUESTER },
      endpoint: `http://127.0.0.1:${service.ports.api}`,
      token: AGENT_TOKEN,
      tracerProvider: provider,
      timeoutMs: 20_000,
      ...o,
    });

  before(async () => {
    env.idp = await startFakeOidc();
    env.slack = await startFakeSlack({
      botToken: BOT,
      users: [
        { id: 'UALICE', email: 'alice@example.com', name: 'Alice' },
        { id: 'USAM', email: 'sam@example.com', name: 'Sam' },
      ],
    });
    env.dir = await mkdtemp(join(tmpdir(), 'sluice-e2e-approvals-'));
    env.policyFile = join(env.dir, 'policy.yaml');
    await writeFile(env.policyFile, POLICY);
    service = await startSluice(env);
    provider = agentProvider(service);
  });
  after(async () => {
    await provider?.shutdown();
    await service?.cleanup();
    await env.slack?.close();
    await env.idp?.close();
    await rm(env.dir, { recursive: true, force: true });
  });

  it('approve over the API: requireApproval resolves, withApproval runs once and the outcome is recorded', async () => {
    const opened = nextOpened(service, 'export_table');
    const pending = ask({ action: 'export_table' });
    const id = await opened;
    const d = await api(service, 'POST', `/v1/approvals/${id}/decisions`, await person('alice@example.com', ['data-owners']), { decision: 'approve', comment: 'ok' });
    assert.equal(d.status, 200, JSON.stringify(d.body));
    const approval = await pending;
    assert.equal(approval.id, id);
    assert.deepEqual(approval.approvers.map((a) => a.id), ['alice@example.com']);
    assert.equal(await withApproval(approval, async () => 'done'), 'done');
    assert.equal(service.engine!.get(id)!.state, 'executed');
    await assert.rejects(withApproval(approval, async () => 'again'), (e: unknown) => e instanceof ApprovalDeniedError && e.reason === 'consume_refused');
  });

  it('nothing unredacted reaches the approver: request context and the Slack message', async () => {
    const opened = nextOpened(service, 'export_table');
    const pending = ask({ action: 'export_table' }).catch((e: unknown) => e);
    const id = await opened;
    const post = await env.slack.waitFor('chat.postMessage', (c) => JSON.stringify(c.args.blocks).includes(id));
    const shown = JSON.stringify(post.args) + JSON.stringify(service.engine!.get(id));
    assert.ok(!shown.includes('dana.private@example.com'), 'email redacted');
    assert.ok(!shown.includes('AKIAIOSFODNN7EXAMPLE'), 'key redacted');
    assert.ok(shown.includes('export_table'));
    await api(service, 'POST', `/v1/approvals/${id}/decisions`, await person('alice@example.com', ['data-owners']), { decision: 'deny', comment: 'cleanup' });
    assert.ok((await pending) instanceof ApprovalDeniedError);
  });

  it('deny in Slack (button → reason modal): requireApproval throws, the message shows who and why', async () => {
    const opened = nextOpened(service, 'export_table');
    const pending = ask({ action: 'export_table' }).catch((e: unknown) => e);
    const id = await opened;
    const ref = await slackRef(service, id);
    const url = `http://127.0.0.1:${service.ports.api}/slack/interactions`;
    const trigger = `trig-${id}`;
    assert.equal((await sendInteraction(url, signedInteraction(SIGNING, buttonClick({ userId: 'UALICE', actionId: 'sluice_deny', approvalId: id, channel: ref.channel, ts: ref.ts, triggerId: trigger })))).status, 200);
    const modal = await env.slack.waitFor('views.open', (c) => c.args.trigger_id === trigger);
    const sub = await sendInteraction(url, signedInteraction(SIGNING, denySubmission({ userId: 'UALICE', privateMetadata: modal.args.view.private_metadata, reason: 'exports need a DPA' })));
    assert.equal(sub.status, 200);
    const err = await pending;
    assert.ok(err instanceof ApprovalDeniedError);
    assert.equal(err.reason, 'denied');
    assert.equal(err.decidedBy?.id, 'alice@example.com');
    assert.equal(err.decidedBy?.comment, 'exports need a DPA');
    const upd = await env.slack.waitFor('chat.update', (c) => JSON.stringify(c.args.blocks).includes(id) && JSON.stringify(c.args.blocks).includes('Denied'));
    assert.ok(JSON.stringify(upd.args.blocks).includes('exports need a DPA'));
  });

  it('expiry: no decision before the timeout denies', async () => {
    const err = await ask({ action: 'rotate_key' }).catch((e: unknown) => e);
    assert.ok(err instanceof ApprovalDeniedError);
    assert.equal(err.reason, 'expired');
    await env.slack.waitFor('chat.update', (c) => JSON.stringify(c.args.blocks).includes(err.approvalId!) && JSON.stringify(c.args.blocks).includes('Expired'));
  });

  it('min_approvals 2: one person counts once; a second distinct approver (in Slack) approves', async () => {
    const opened = nextOpened(service, 'grant_role');
    const pending = ask({ action: 'grant_role', resource: 'iam/admin', arguments: { role: 'admin', user: 'x' } });
    const id = await opened;
    const alice = await person('alice@example.com', ['security']);
    assert.equal((await api(service, 'POST', `/v1/approvals/${id}/decisions`, alice, { decision: 'approve' })).status, 200);
    assert.equal((await api(service, 'POST', `/v1/approvals/${id}/decisions`, alice, { decision: 'approve' })).status, 409);
    assert.equal(service.engine!.get(id)!.state, 'pending');
    const ref = await slackRef(service, id);
    const url = `http://127.0.0.1:${service.ports.api}/slack/interactions`;
    assert.equal((await sendInteraction(url, signedInteraction(SIGNING, buttonClick({ userId: 'USAM', actionId: 'sluice_approve', approvalId: id, channel: ref.channel, ts: ref.ts })))).status, 200);
    const approval = await pending;
    assert.deepEqual(approval.approvers.map((a) => a.id).sort(), ['alice@example.com', 'sam@example.com']);
  });

  it('the requester, a non-member and the agent token are refused (403), and each attempt is in the journal', async () => {
    const opened = nextOpened(service, 'export_table');
    const pending = ask({ action: 'export_table' }).catch((e: unknown) => e);
    const id = await opened;
    const requester = await api(service, 'POST', `/v1/approvals/${id}/decisions`, await person(REQUESTER, ['data-owners']), { decision: 'approve' });
    const outsider = await api(service, 'POST', `/v1/approvals/${id}/decisions`, await person('mallory@example.com', ['interns']), { decision: 'approve' });
    const agent = await api(service, 'POST', `/v1/approvals/${id}/decisions`, AGENT_TOKEN, { decision: 'approve' });
    assert.deepEqual([requester.status, outsider.status, agent.status], [403, 403, 403]);
    assert.match(requester.body.message, /requester/);
    assert.equal(service.engine!.get(id)!.state, 'pending');
    const refused = (await journal(service)).filter((e) => e.type === 'decision_refused' && e.approvalId === id).map((e) => e.actor?.id);
    assert.deepEqual(refused, [REQUESTER, 'mallory@example.com', 'token:agent']);
    await api(service, 'POST', `/v1/approvals/${id}/decisions`, await person('alice@example.com', ['data-owners']), { decision: 'deny', comment: 'cleanup' });
    await pending;
  });

  it('bad JWTs are 401: wrong issuer, audience, algorithm, expired', async () => {
    const claims = { sub: 'alice', email: 'alice@example.com', groups: ['data-owners'] };
    const tokens = [
      await env.idp.mint(claims, { issuer: 'https://evil.example.com' }),
      await env.idp.mint(claims, { audience: 'someone-else' }),
      await env.idp.mint(claims, { alg: 'HS256' }),
      await env.idp.mint(claims, { expiresIn: Math.floor(Date.now() / 1000) - 600 }),
    ];
    for (const t of tokens) {
      const r = await api(service, 'GET', '/v1/approvals', t);
      assert.equal(r.status, 401);
      assert.equal(r.body.error, 'unauthorized');
    }
  });

  it('forged and replayed Slack signatures are 401', async () => {
    const url = `http://127.0.0.1:${service.ports.api}/slack/interactions`;
    const click = buttonClick({ userId: 'UALICE', actionId: 'sluice_approve', approvalId: 'nope', channel: 'C1', ts: '1.1' });
    assert.equal((await sendInteraction(url, signedInteraction(SIGNING, click, { secretOverride: 'forged' }))).status, 401);
    const genuine = signedInteraction(SIGNING, click);
    assert.equal((await sendInteraction(url, genuine)).status, 200);
    assert.equal((await sendInteraction(url, genuine)).status, 401);
  });

  it('an ungated privileged span (no approval id) is flagged: an event and a metric', async () => {
    const span = provider.getTracer('agent').startSpan('tool call', { attributes: { 'gen_ai.tool.name': 'export_table', [ApprovalAttr.requester]: REQUESTER } });
    const spanId = span.spanContext().spanId;
    span.end();
    await provider.forceFlush();
    const ungated = (await journal(service)).filter((e) => e.type === 'ungated' && (e.data as { spanId?: string }).spanId === spanId);
    assert.equal(ungated.length, 1);
    const metric = (await service.metrics.approvalEvents.get()).values.find((v) => v.labels.type === 'ungated');
    assert.ok(metric && metric.value >= 1);
  });
});

describe('approvals survive a restart', () => {
  const env = {} as Env;
  before(async () => {
    env.idp = await startFakeOidc();
    env.slack = await startFakeSlack({ botToken: BOT });
    env.dir = await mkdtemp(join(tmpdir(), 'sluice-e2e-restart-'));
    env.policyFile = join(env.dir, 'policy.yaml');
    await writeFile(env.policyFile, POLICY);
  });
  after(async () => {
    await env.slack.close();
    await env.idp.close();
    await rm(env.dir, { recursive: true, force: true });
  });

  it('a pending request is still pending after a restart, and can then be decided', async () => {
    const dataDir = join(env.dir, 'data');
    let service = await startSluice(env, dataDir);
    let provider = agentProvider(service);
    // The intent span alone, as requireApproval sends it (the agent process itself stays up across our restart).
    const span = provider.getTracer('agent').startSpan('sluice.approval.request export_table', {
      attributes: {
        [ApprovalAttr.id]: 'restart-1',
        [ApprovalAttr.phase]: 'request',
        [ApprovalAttr.action]: 'export_table',
        [ApprovalAttr.hash]: 'd'.repeat(64),
        [ApprovalAttr.requester]: REQUESTER,
        'gen_ai.tool.name': 'export_table',
      },
    });
    span.end();
    await provider.forceFlush();
    assert.equal(service.engine!.get('restart-1')?.state, 'pending');
    await provider.shutdown();
    await service.stop();

    service = await startSluice(env, dataDir);
    provider = agentProvider(service);
    try {
      const alice = await env.idp.mint({ sub: 'a', email: 'alice@example.com', groups: ['data-owners'] });
      const before = await api(service, 'GET', '/v1/approvals/restart-1/decision', alice);
      assert.equal(before.body.state, 'pending');
      const waiting = api(service, 'GET', '/v1/approvals/restart-1/decision?wait=10s', AGENT_TOKEN);
      assert.equal((await api(service, 'POST', '/v1/approvals/restart-1/decisions', alice, { decision: 'approve' })).status, 200);
      assert.equal((await waiting).body.state, 'approved');
    } finally {
      await provider.shutdown();
      await service.stop();
    }
  });
});
