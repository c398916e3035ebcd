// The ClickHouse copy of approval events, against a real ClickHouse engine
// (chDB, embedded; one data dir per process).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pino } from 'pino';
import { createApprovalEngine } from '../../approvals/engine/engine.js';
import { openJournal } from '../../approvals/log/journal.js';
import { ApprovalEventStore, type ClickHouseHandle } from '../../approvals/store/clickhouse.js';
import type { Identity, OpenInput } from '../../approvals/types.js';
import { runAuditVerify } from '../../cli/commands/audit.js';
import { openClickHouse, type ClickHouseHandle as ExporterHandle } from '../../exporters/clickhouse/store.js';

// Compile-time check: the ClickHouse exporter's handle fits the store's structural interface.
export const exporterHandleFits = (h: ExporterHandle): ClickHouseHandle => h;

const logger = pino({ level: process.env.TEST_LOG ?? 'silent' });
const HASH = 'a'.repeat(64);
const alice: Identity = { id: 'alice@example.com', email: 'alice@example.com', name: 'Alice', groups: ['security'], via: 'oidc' };
const bob: Identity = { id: 'bob@example.com', groups: ['security'], via: 'slack' };
const mallory: Identity = { id: 'mallory@example.com', groups: [], via: 'oidc' };

function input(id: string, minApprovals = 1): OpenInput {
  return {
    approvalId: id, actionHash: HASH, action: 'grant_role', resource: 'iam/admin', reason: 'on-call access',
    context: { 'gen_ai.tool.name': 'grant_role', 'user.email': '<REDACTED:email>' }, requester: 'dave@example.com', agent: 'ops-agent',
    traceId: '3'.repeat(32), spanId: '4'.repeat(16),
    policy: { policy: 'prod', rule: 'grant-role', approvers: { groups: ['security'], users: [] }, minApprovals, timeoutMs: 600_000, onTimeout: 'deny', channels: [] },
  };
}

/** The exporter's own store handle (the one the service passes), with injectable insert failures. */
function chdbHandle(path: string) {
  const real = openClickHouse({ endpoint: `embedded:${path}` });
  let failNext = 0;
  const handle: ClickHouseHandle & { close(): Promise<void>; failInserts(n: number): void } = {
    async insert(table, ndjson, opts) {
      if (failNext > 0) {
        failNext--;
        throw new Error('ClickHouse unavailable (test)');
      }
      await real.insert(table, ndjson, opts);
    },
    command: (sql) => real.command(sql),
    queryJson: <T,>(sql: string) => real.queryJson<T>(sql),
    close: () => real.close(),
    failInserts(n) {
      failNext = n;
    },
  };
  return handle;
}

test('events land in sluice_approval_events in Seq order, the view shows each request’s current state, and a lagging copy catches up', { timeout: 60_000 }, async () => {
  const dir = await mkdtemp(join(tmpdir(), 'sluice-store-'));
  const ch = chdbHandle(join(dir, 'chdb'));
  try {
    const log = await openJournal({ dir: join(dir, 'approvals'), logger });
    const engine = await createApprovalEngine({ log, logger });
    // Two events exist before the store starts: it must copy them from the log.
    await engine.open(input('before'));
    await engine.decide({ approvalId: 'before', verdict: 'deny', by: alice, comment: 'no', channel: 'api' });

    const store = new ApprovalEventStore({ clickhouse: ch, engine, log, logger, database: 'default', flushIntervalMs: 5, maxRetryIntervalMs: 20 });
    store.start();
    await engine.open(input('g1', 2));
    await engine.decide({ approvalId: 'g1', verdict: 'approve', by: alice, comment: 'ok', channel: 'api' });
    await engine.decide({ approvalId: 'g1', verdict: 'approve', by: mallory, comment: '', channel: 'api' }); // refused
    await engine.decide({ approvalId: 'g1', verdict: 'approve', by: bob, comment: 'fine', channel: 'slack' });
    await engine.open(input('g2'));
    await engine.recordViolation('ungated', { traceId: '5'.repeat(32), spanId: '6'.repeat(16), rule: 'grant-role', action: 'grant_role', agent: 'ops-agent', context: { k: 'v' } });
    await store.flush();
    assert.equal(store.exported(), log.head().seq);

    const rows = await ch.queryJson<{ Seq: string; Type: string; ApprovalId: string; State: string; ActorId: string; Context: Record<string, string>; Agent: string; Rule: string }>(
      'SELECT Seq, Type, ApprovalId, State, ActorId, Context, Agent, Rule FROM sluice_approval_events ORDER BY Seq',
    );
    assert.deepEqual(rows.map((r) => [Number(r.Seq), r.Type, r.ApprovalId, r.State]), [
      [1, 'opened', 'before', 'pending'],
      [2, 'denied', 'before', 'denied'],
      [3, 'opened', 'g1', 'pending'],
      [4, 'approval_recorded', 'g1', 'pending'],
      [5, 'decision_refused', 'g1', 'pending'],
      [6, 'approved', 'g1', 'approved'],
      [7, 'opened', 'g2', 'pending'],
      [8, 'ungated', '', ''],
    ]);
    assert.equal(rows[4]?.ActorId, 'mallory@example.com');
    assert.equal(rows[2]?.Context['user.email'], '<REDACTED:email>');
    assert.deepEqual([rows[7]?.Agent, rows[7]?.Rule, rows[7]?.Context.k], ['ops-agent', 'grant-role', 'v']);

    const view = await ch.queryJson<{ ApprovalId: string; State: string; DecidedBy: string; ApprovalCount: number; RefusedAttempts: string; DecidedAt: string | null }>(
      'SELECT ApprovalId, State, DecidedBy, ApprovalCount, RefusedAttempts, DecidedAt FROM sluice_approval_requests ORDER BY ApprovalId',
    );
    assert.deepEqual(view.map((v) => [v.ApprovalId, v.State, v.DecidedBy, Number(v.ApprovalCount), Number(v.RefusedAttempts)]), [
      ['before', 'denied', 'alice@example.com', 0, 0],
      ['g1', 'approved', 'bob@example.com', 2, 1],
      ['g2', 'pending', '', 0, 0],
    ]);
    assert.equal(view[2]?.DecidedAt, null);

    // ClickHouse goes away for a while: events wait (they are in the journal) and arrive in order.
    ch.failInserts(3);
    await engine.decide({ approvalId: 'g2', verdict: 'approve', by: alice, comment: '', channel: 'api' });
    await engine.cancel('before', alice, 'noop'); // 409, nothing appended
    await store.flush();
    const state = await ch.queryJson<{ State: string }>(`SELECT State FROM sluice_approval_requests WHERE ApprovalId = 'g2'`);
    assert.equal(state[0]?.State, 'approved');
    await store.stop();

    // A new store over the same table exports only what is missing.
    await engine.open(input('g3'));
    const store2 = new ApprovalEventStore({ clickhouse: ch, engine, log, logger, flushIntervalMs: 5 });
    store2.start();
    await store2.flush();
    const counts = await ch.queryJson<{ n: string; m: string }>('SELECT count() AS n, uniqExact(Seq) AS m FROM sluice_approval_events');
    assert.deepEqual([Number(counts[0]?.n), Number(counts[0]?.m)], [log.head().seq, log.head().seq]);
    await store2.stop();
    await engine.close();
    await log.close();
    await ch.close();

    // audit verify reads the same table (and the journal) and finds the chain intact.
    const out: string[] = [];
    const code = await runAuditVerify({ data: dir, clickhouse: `embedded:${join(dir, 'chdb')}` }, { out: (l) => out.push(l), err: (l) => out.push(l) });
    assert.equal(code, 0, out.join('\n'));
    assert.match(out.join('\n'), /journal .*: ok: 10 records/);
    assert.match(out.join('\n'), /clickhouse embedded:.*: ok: 10 records/);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});

test('with a shared log (Kafka) each replica copies the events it commits, in commit order, and retries', { timeout: 60_000 }, async () => {
  const dir = await mkdtemp(join(tmpdir(), 'sluice-store-shared-'));
  const ch = chdbHandle(join(dir, 'chdb'));
  try {
    const log = await openJournal({ dir: join(dir, 'approvals'), logger });
    const engine = await createApprovalEngine({ log, logger });
    // Committed before the store started, by "another replica": not this replica's to copy.
    await engine.open(input('other'));
    const store = new ApprovalEventStore({ clickhouse: ch, engine, log, logger, database: 'default', flushIntervalMs: 5, maxRetryIntervalMs: 20, shared: true });
    store.start();
    ch.failInserts(2);
    await engine.open(input('mine'));
    await engine.decide({ approvalId: 'mine', verdict: 'approve', by: alice, comment: 'ok', channel: 'api' });
    await store.flush();
    const rows = await ch.queryJson<{ Type: string; ApprovalId: string }>('SELECT Type, ApprovalId FROM sluice_approval_events ORDER BY Timestamp, Seq');
    assert.deepEqual(rows.map((r) => [r.Type, r.ApprovalId]), [
      ['opened', 'mine'],
      ['approved', 'mine'],
    ]);
    await store.stop();
    await log.close();
  } finally {
    await ch.close();
    await rm(dir, { recursive: true, force: true });
  }
});
