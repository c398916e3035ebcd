import { after, before, beforeEach, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import Fastify, { type FastifyInstance } from 'fastify';
import { pino } from 'pino';
import { authConfigSchema } from '../../approvals/auth/config.js';
import { createAuthenticator } from '../../approvals/auth/authenticate.js';
import { registerApprovalsApi } from '../../approvals/api/routes.js';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createApprovalEngine } from '../../approvals/engine/engine.js';
import { openJournal } from '../../approvals/log/journal.js';
import type { ApprovalEvent, ApprovalRequest, OpenInput } from '../../approvals/types.js';
import { startFakeOidc, type FakeOidc } from '../helpers/fake-oidc.js';

async function realEngine() {
  const dir = await mkdtemp(join(tmpdir(), 'sluice-api-'));
  const logger = pino({ level: 'silent' });
  const log = await openJournal({ dir, logger });
  const engine = await createApprovalEngine({ log, logger });
  const events: ApprovalEvent[] = [];
  engine.onEvent((e) => events.push(e));
  return {
    engine,
    events,
    async close() {
      await engine.close();
      await log.close();
      await rm(dir, { recursive: true, force: true });
    },
  };
}

const HASH = 'a'.repeat(64);
const openInput = (id: string, minApprovals = 1): OpenInput => ({
  approvalId: id,
  actionHash: HASH,
  action: 'export_table',
  resource: 'warehouse.customers',
  reason: 'quarterly report',
  context: { 'sluice.action.arguments': '{"table":"customers","to":"<EMAIL>"}' },
  requester: 'dana@example.com',
  agent: 'report-agent',
  traceId: '0'.repeat(32),
  spanId: '1'.repeat(16),
  policy: { policy: 'default', rule: 'exports', approvers: { groups: ['data-owners'], users: [] }, minApprovals, timeoutMs: 60_000, onTimeout: 'deny', channels: [] },
});

describe('approvals REST API', () => {
  let idp: FakeOidc;
  let app: FastifyInstance;
  let base: string;
  let stub: Awaited<ReturnType<typeof realEngine>>;
  const tokens = { agent: 'agent-token-0123456789abcdef', reader: 'reader-token-0123456789abcdef', bot: 'decider-token-0123456789abcdef' };

  before(async () => {
    idp = await startFakeOidc();
  });
  after(() => idp.close());

  beforeEach(async () => {
    await app?.close();
    await stub?.close();
    stub = await realEngine();
    const auth = createAuthenticator(
      authConfigSchema.parse({
        oidc: { issuer: idp.issuer, audience: 'sluice' },
        tokens: [
          { name: 'agent', value: tokens.agent, scopes: ['ingest', 'request'] },
          { name: 'reader', value: tokens.reader, scopes: ['read'], identity: { id: 'carol@example.com', groups: ['data-owners'] } },
          { name: 'bot', value: tokens.bot, scopes: ['decide'], identity: { id: 'bot@example.com', groups: ['data-owners'] } },
        ],
      }),
    );
    app = Fastify();
    await registerApprovalsApi(app, { engine: stub.engine, auth, logger: pino({ level: 'silent' }), maxWaitMs: 5_000 });
    base = await app.listen({ port: 0, host: '127.0.0.1' });
  });
  after(async () => {
    await app?.close();
    await stub?.close();
  });

  const call = async (method: string, path: string, token: string | undefined, body?: unknown) => {
    const res = await fetch(`${base}${path}`, {
      method,
      headers: { ...(token ? { authorization: `Bearer ${token}` } : {}), ...(body ? { 'content-type': 'application/json' } : {}) },
      body: body ? JSON.stringify(body) : undefined,
    });
    return { status: res.status, body: (await res.json()) as any };
  };
  const user = (email: string, groups: string[]) => idp.mint({ sub: email, email, groups });

  it('401 without a token or with a bad one, as JSON {error, message}', async () => {
    for (const t of [undefined, 'nope-nope-nope-nope-nope', await idp.mint({ sub: 'x' }, { audience: 'other' })]) {
      const r = await call('GET', '/v1/approvals', t);
      assert.equal(r.status, 401);
      assert.equal(r.body.error, 'unauthorized');
      assert.equal(typeof r.body.message, 'string');
    }
  });

  it('lists and fetches requests for readers; agents may not list', async () => {
    await stub.engine.open(openInput('r1'));
    const list = await call('GET', '/v1/approvals?state=pending&limit=10', tokens.reader);
    assert.equal(list.status, 200);
    assert.deepEqual(list.body.approvals.map((a: ApprovalRequest) => a.id), ['r1']);
    assert.equal((await call('GET', '/v1/approvals?state=approved', tokens.reader)).body.approvals.length, 0);
    assert.equal((await call('GET', '/v1/approvals?state=bogus', tokens.reader)).status, 400);
    assert.equal((await call('GET', '/v1/approvals', tokens.agent)).status, 403);
    const one = await call('GET', '/v1/approvals/r1', await user('erin@example.com', []));
    assert.equal(one.status, 200);
    assert.equal(one.body.action, 'export_table');
    assert.equal((await call('GET', '/v1/approvals/nope', tokens.reader)).status, 404);
  });

  it('long-polls the decision and returns as soon as it is decided', async () => {
    await stub.engine.open(openInput('r2'));
    const pending = call('GET', '/v1/approvals/r2/decision?wait=5s', tokens.agent);
    let settled = false;
    void pending.then(() => (settled = true));
    await new Promise((r) => setImmediate(r));
    assert.equal(settled, false, 'still waiting while pending');
    const d = await call('POST', '/v1/approvals/r2/decisions', await user('alice@example.com', ['data-owners']), { decision: 'approve', comment: 'ok' });
    assert.equal(d.status, 200);
    const res = await pending;
    assert.equal(res.status, 200);
    assert.equal(res.body.state, 'approved');
    assert.equal(res.body.decided, true);
    assert.deepEqual(res.body.approvals[0].by, { id: 'alice@example.com', via: 'oidc' });
    assert.equal((await call('GET', '/v1/approvals/r2/decision?wait=5s', tokens.reader)).body.state, 'approved');
    assert.equal((await call('GET', '/v1/approvals/r2/decision?wait=forever', tokens.reader)).status, 400);
    assert.equal((await call('GET', '/v1/approvals/unknown/decision?wait=1s', tokens.agent)).status, 404);
  });

  it('403 for the requester, a non-member and an agent token, each audited by the engine', async () => {
    await stub.engine.open(openInput('r3'));
    const requester = await call('POST', '/v1/approvals/r3/decisions', await user('dana@example.com', ['data-owners']), { decision: 'approve' });
    const outsider = await call('POST', '/v1/approvals/r3/decisions', await user('mallory@example.com', ['interns']), { decision: 'approve' });
    const agent = await call('POST', '/v1/approvals/r3/decisions', tokens.agent, { decision: 'approve' });
    for (const r of [requester, outsider, agent]) {
      assert.equal(r.status, 403);
      assert.equal(r.body.error, 'forbidden');
    }
    // A read-only token lacks `decide`, even though its identity is in the group.
    assert.equal((await call('POST', '/v1/approvals/r3/decisions', tokens.reader, { decision: 'approve' })).status, 403);
    assert.deepEqual(
      stub.events.filter((e) => e.type === 'decision_refused').map((e) => e.actor?.id),
      ['dana@example.com', 'mallory@example.com', 'token:agent', 'carol@example.com'],
    );
    assert.equal(stub.engine.get('r3')!.state, 'pending');
    // A decide-scoped bot token in the approvers' group may decide.
    assert.equal((await call('POST', '/v1/approvals/r3/decisions', tokens.bot, { decision: 'deny', comment: 'no' })).status, 200);
    assert.equal(stub.engine.get('r3')!.state, 'denied');
    assert.equal((await call('POST', '/v1/approvals/r3/decisions', tokens.bot, { decision: 'approve' })).status, 409);
  });

  it('400 on a bad body, 404 on an unknown request', async () => {
    const alice = await user('alice@example.com', ['data-owners']);
    const bad = await call('POST', '/v1/approvals/x/decisions', alice, { decision: 'maybe' });
    assert.equal(bad.status, 400);
    assert.match(bad.body.message, /body\.decision/);
    assert.equal((await call('POST', '/v1/approvals/x/decisions', alice, { decision: 'approve' })).status, 404);
  });

  it('consume needs the request scope and the exact action hash, once', async () => {
    await stub.engine.open(openInput('r4'));
    await stub.engine.decide({ approvalId: 'r4', verdict: 'approve', by: { id: 'alice@example.com', groups: ['data-owners'], via: 'oidc' }, comment: '', channel: 'api' });
    assert.equal((await call('POST', '/v1/approvals/r4/consume', tokens.reader, { actionHash: HASH })).status, 403);
    assert.equal((await call('POST', '/v1/approvals/r4/consume', tokens.agent, { actionHash: 'not-a-hash' })).status, 400);
    assert.equal((await call('POST', '/v1/approvals/r4/consume', tokens.agent, { actionHash: 'b'.repeat(64) })).status, 409);
    assert.equal((await call('POST', '/v1/approvals/r4/consume', tokens.agent, { actionHash: HASH })).status, 200);
    assert.equal((await call('POST', '/v1/approvals/r4/consume', tokens.agent, { actionHash: HASH })).status, 409);
  });
});
