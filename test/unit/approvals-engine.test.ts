import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pino } from 'pino';
import { createApprovalEngine, type LocalApprovalEngine } from '../../approvals/engine/engine.js';
import { applyEvent, CONSUMED, emptyState } from '../../approvals/engine/reducer.js';
import { recordHash } from '../../approvals/log/chain.js';
import { openJournal, type JournalLog } from '../../approvals/log/journal.js';
import { GENESIS_HASH, type ApprovalLog, type NewApprovalEvent } from '../../approvals/log/types.js';
import { readJournalLines } from '../../approvals/log/lines.js';
import { journalPath } from '../../approvals/log/journal.js';
import { verifyChain } from '../../approvals/log/verify.js';
import type { ApprovalEvent, ApprovalPolicySnapshot, Identity, OpenInput } from '../../approvals/types.js';
import { SelfMetrics } from '../../pipeline/telemetry/metrics.js';

const logger = pino({ level: 'silent' });
const HASH = 'f'.repeat(64);

const alice: Identity = { id: 'alice@example.com', email: 'alice@example.com', groups: ['data-owners'], via: 'oidc' };
const bob: Identity = { id: 'bob@example.com', email: 'bob@example.com', groups: ['data-owners', 'security'], via: 'oidc' };
const carol: Identity = { id: 'carol@example.com', email: 'carol@example.com', groups: ['marketing'], via: 'oidc' };
/** The requester of every test request. */
const dave: Identity = { id: 'dave@example.com', email: 'Dave@Example.com', groups: ['data-owners'], via: 'oidc' };

function policy(over: Partial<ApprovalPolicySnapshot> = {}): ApprovalPolicySnapshot {
  return { policy: 'p', rule: 'export', approvers: { groups: ['data-owners', 'security'], users: [] }, minApprovals: 1, timeoutMs: 60_000, onTimeout: 'deny', channels: ['slack'], ...over };
}

function input(id: string, over: Partial<OpenInput> = {}): OpenInput {
  return {
    approvalId: id, actionHash: HASH, action: 'export_table', resource: 'db.users', reason: 'quarterly report',
    context: { 'sluice.action.arguments': '{"format":"csv"}' }, requester: 'dave@example.com', agent: 'billing-agent',
    traceId: '1'.repeat(32), spanId: '2'.repeat(16), policy: policy(), ...over,
  };
}

interface Rig {
  dir: string;
  log: JournalLog;
  engine: LocalApprovalEngine;
  events: ApprovalEvent[];
  clock: { t: number };
  restart(): Promise<void>;
  close(): Promise<void>;
}

async function rig(opts: { consumeWindowMs?: number; metrics?: SelfMetrics } = {}): Promise<Rig> {
  const dir = await mkdtemp(join(tmpdir(), 'sluice-engine-'));
  const clock = { t: 1_700_000_000_000 };
  const r = { dir, events: [] as ApprovalEvent[], clock } as Rig;
  const start = async () => {
    r.log = await openJournal({ dir, logger });
    r.engine = await createApprovalEngine({ log: r.log, logger, now: () => clock.t, consumeWindowMs: opts.consumeWindowMs, metrics: opts.metrics });
    r.engine.onEvent((e) => r.events.push(e));
  };
  await start();
  r.restart = async () => {
    await r.engine.close();
    await r.log.close();
    await start();
  };
  r.close = async () => {
    await r.engine.close();
    await r.log.close();
    await rm(dir, { recursive: true, force: true });
  };
  return r;
}

async function withRig(fn: (r: Rig) => Promise<void>, opts?: Parameters<typeof rig>[0]): Promise<void> {
  const r = await rig(opts);
  try {
    await fn(r);
  } finally {
    await r.close();
  }
}

test('open is idempotent; approve by an eligible approver; waitForDecision returns at once afterwards', async () => {
  const metrics = new SelfMetrics({ defaultMetrics: false });
  await withRig(async (r) => {
    const first = await r.engine.open(input('a1'));
    const again = await r.engine.open(input('a1', { reason: 'replayed span' }));
    assert.deepEqual([first.created, again.created], [true, false]);
    assert.equal(again.request.reason, 'quarterly report');
    assert.equal(r.events.filter((e) => e.type === 'opened').length, 1);

    const waiting = r.engine.waitForDecision('a1', 60_000);
    const res = await r.engine.decide({ approvalId: 'a1', verdict: 'approve', by: alice, comment: 'ok', channel: 'api' });
    assert.equal(res.ok, true);
    assert.equal((await waiting)?.state, 'approved');
    assert.equal((await r.engine.waitForDecision('a1', 60_000))?.state, 'approved');
    assert.deepEqual(r.events.map((e) => e.type), ['opened', 'approved']);
    assert.equal(r.events[1]?.actor?.id, 'alice@example.com');
    // listeners run only after the event is in the journal
    const onDisk: number[] = [];
    for await (const l of readJournalLines(journalPath(r.dir))) onDisk.push(l.record!.seq);
    assert.deepEqual(onDisk, [1, 2]);
    const counted = await metrics.registry.getSingleMetricAsString('sluice_approval_events_total');
    assert.match(counted, /type="approved"\} 1/);

    const late = await r.engine.decide({ approvalId: 'a1', verdict: 'deny', by: bob, comment: 'too late', channel: 'api' });
    assert.deepEqual([late.ok, !late.ok && late.status], [false, 409]);
    const unknown = await r.engine.decide({ approvalId: 'nope', verdict: 'approve', by: alice, comment: '', channel: 'api' });
    assert.deepEqual([unknown.ok, !unknown.ok && unknown.status], [false, 404]);
  }, { metrics });
});

test('min_approvals 2: one person in two groups counts once; a second person completes it; deny vetoes', async () => {
  await withRig(async (r) => {
    await r.engine.open(input('m1', { policy: policy({ minApprovals: 2 }) }));
    const b1 = await r.engine.decide({ approvalId: 'm1', verdict: 'approve', by: bob, comment: '', channel: 'slack' });
    assert.equal(b1.ok && b1.request.state, 'pending');
    // the same human again, through another channel and with different casing
    const b2 = await r.engine.decide({ approvalId: 'm1', verdict: 'approve', by: { ...bob, id: 'U123BOB', email: 'BOB@example.com', via: 'slack' }, comment: '', channel: 'slack' });
    assert.deepEqual([b2.ok, !b2.ok && b2.status], [false, 409]);
    assert.equal(r.engine.get('m1')?.approvals.length, 1);
    const a = await r.engine.decide({ approvalId: 'm1', verdict: 'approve', by: alice, comment: '', channel: 'api' });
    assert.equal(a.ok && a.request.state, 'approved');
    assert.deepEqual(r.engine.get('m1')?.approvals.map((x) => x.by.id), ['bob@example.com', 'alice@example.com']);

    await r.engine.open(input('m2', { policy: policy({ minApprovals: 2 }) }));
    await r.engine.decide({ approvalId: 'm2', verdict: 'approve', by: bob, comment: '', channel: 'api' });
    const veto = await r.engine.decide({ approvalId: 'm2', verdict: 'deny', by: alice, comment: 'not this quarter', channel: 'api' });
    assert.equal(veto.ok && veto.request.state, 'denied');
    assert.equal(r.engine.get('m2')?.denial?.comment, 'not this quarter');
  });
});

test('refused deciders get 403 and each refusal is an audit event: requester, agent, agent token, scope-less token, non-member', async () => {
  await withRig(async (r) => {
    await r.engine.open(input('r1'));
    const attempts: Array<[Identity, RegExp]> = [
      [dave, /requester cannot decide/],
      [{ ...dave, id: 'U999', email: 'DAVE@example.com', via: 'slack' }, /requester cannot decide/],
      [{ id: 'token:billing-agent', groups: ['data-owners'], via: 'token', scopes: ['decide'] }, /requesting agent/],
      [{ id: 'token:ci', groups: ['data-owners'], via: 'token', scopes: ['ingest', 'request', 'decide'], agent: true }, /agent credentials/],
      [{ id: 'token:ops', groups: ['data-owners'], via: 'token', scopes: ['read'] }, /lacks the "decide" scope/],
      [carol, /not an approver under rule "export"/],
    ];
    for (const [by, why] of attempts) {
      for (const verdict of ['approve', 'deny'] as const) {
        const res = await r.engine.decide({ approvalId: 'r1', verdict, by, comment: '', channel: 'api' });
        assert.equal(res.ok, false);
        assert.equal(!res.ok && res.status, 403, `${by.id} ${verdict}`);
        assert.match(!res.ok ? res.reason : '', why);
      }
    }
    assert.equal(r.engine.get('r1')?.state, 'pending', 'a refused deny must not veto');
    const refused = r.events.filter((e) => e.type === 'decision_refused');
    assert.equal(refused.length, attempts.length * 2);
    assert.equal(refused[0]?.actor?.id, 'dave@example.com');
    assert.match(String(refused[0]?.data?.reason), /requester/);
    // a user listed by name is eligible without any group
    await r.engine.open(input('r2', { policy: policy({ approvers: { groups: [], users: ['Carol@Example.com'] } }) }));
    const ok = await r.engine.decide({ approvalId: 'r2', verdict: 'approve', by: carol, comment: '', channel: 'api' });
    assert.equal(ok.ok, true);
  });
});

test('expiry: timers deny a request nobody answered; expired while down expires on start', async () => {
  await withRig(async (r) => {
    await r.engine.open(input('e1', { policy: policy({ timeoutMs: 30 }) }));
    // The rig's clock only moves when told; the 30 ms timer finds the deadline passed.
    r.clock.t += 31;
    const after = await r.engine.waitForDecision('e1', 10_000);
    assert.equal(after?.state, 'expired');
    assert.equal(r.events.at(-1)?.type, 'expired');

    await r.engine.open(input('e2', { policy: policy({ timeoutMs: 60_000 }) }));
    await r.restart();
    assert.equal(r.engine.get('e2')?.state, 'pending', 'pending survives a restart');
    r.clock.t += 120_000; // the process was down past the deadline
    assert.equal(await r.engine.expireDue(), 1);
    assert.equal(r.engine.get('e2')?.state, 'expired');
    const res = await r.engine.decide({ approvalId: 'e2', verdict: 'approve', by: alice, comment: '', channel: 'api' });
    assert.deepEqual([res.ok, !res.ok && res.status], [false, 409]);
  });
});

test('restart rebuilds pending requests, approvals so far, and re-arms their timers', async () => {
  await withRig(async (r) => {
    await r.engine.open(input('p1', { policy: policy({ minApprovals: 2 }) }));
    await r.engine.decide({ approvalId: 'p1', verdict: 'approve', by: alice, comment: '', channel: 'api' });
    await r.engine.open(input('p2'));
    await r.engine.decide({ approvalId: 'p2', verdict: 'deny', by: bob, comment: 'no', channel: 'api' });
    await r.engine.open(input('p3', { policy: policy({ timeoutMs: 5 }) }));
    r.clock.t += 10;
    await r.restart();
    assert.equal(r.engine.get('p1')?.state, 'pending');
    assert.equal(r.engine.get('p1')?.approvals.length, 1);
    assert.equal(r.engine.get('p2')?.state, 'denied');
    // p3's deadline passed while "down": the re-armed timer fires at once
    assert.equal((await r.engine.waitForDecision('p3', 10_000))?.state, 'expired');
    // decided after the restart, by a second distinct approver
    const res = await r.engine.decide({ approvalId: 'p1', verdict: 'approve', by: bob, comment: '', channel: 'api' });
    assert.equal(res.ok && res.request.state, 'approved');
    assert.equal((await verifyChain(readJournalLines(journalPath(r.dir)))).ok, true);
  });
});

test('consume: once, for the approved action hash only, inside its window; outcome recorded', async () => {
  await withRig(async (r) => {
    await r.engine.open(input('c1'));
    const early = await r.engine.consume('c1', HASH);
    assert.match(!early.ok ? early.reason : '', /pending, not approved/);
    await r.engine.decide({ approvalId: 'c1', verdict: 'approve', by: alice, comment: '', channel: 'api' });
    const wrong = await r.engine.consume('c1', 'e'.repeat(64));
    assert.deepEqual([wrong.ok, !wrong.ok && wrong.status], [false, 409]);
    assert.match(!wrong.ok ? wrong.reason : '', /hash mismatch/);
    const ok = await r.engine.consume('c1', HASH);
    assert.equal(ok.ok && ok.request.consumedAt, r.clock.t);
    const twice = await r.engine.consume('c1', HASH);
    assert.match(!twice.ok ? twice.reason : '', /already used/);
    assert.equal(r.events.filter((e) => e.type === CONSUMED).length, 1);
    assert.equal(r.events.filter((e) => e.type === 'decision_refused' && e.data?.op === 'consume').length, 3);

    await r.engine.recordOutcome('c1', { actionHash: HASH, status: 'executed', detail: '' });
    await r.engine.recordOutcome('c1', { actionHash: HASH, status: 'executed', detail: '' }); // replay
    assert.equal(r.engine.get('c1')?.state, 'executed');
    assert.equal(r.events.filter((e) => e.type === 'executed').length, 1);

    // the window closes
    await r.engine.open(input('c2'));
    await r.engine.decide({ approvalId: 'c2', verdict: 'approve', by: alice, comment: '', channel: 'api' });
    r.clock.t += 60_001;
    const stale = await r.engine.consume('c2', HASH);
    assert.match(!stale.ok ? stale.reason : '', /valid until/);
  }, { consumeWindowMs: 60_000 });
});

test('an outcome for an unapproved, unknown or different action is an ungated violation, recorded once', async () => {
  await withRig(async (r) => {
    await r.engine.open(input('o1'));
    await r.engine.recordOutcome('o1', { actionHash: HASH, status: 'executed', detail: '' });
    await r.engine.recordOutcome('o1', { actionHash: HASH, status: 'executed', detail: '' });
    await r.engine.recordOutcome('ghost', { actionHash: HASH, status: 'failed', detail: 'boom' });
    const ungated = r.events.filter((e) => e.type === 'ungated');
    assert.equal(ungated.length, 2);
    assert.match(String(ungated[0]?.data?.reason), /while its request was pending/);
    assert.equal(r.engine.get('o1')?.state, 'pending');

    await r.engine.recordViolation('ungated', { traceId: 't', spanId: 's', rule: 'export' });
    await r.engine.recordViolation('ungated', { traceId: 't', spanId: 's', rule: 'export' });
    await r.restart();
    await r.engine.recordViolation('ungated', { traceId: 't', spanId: 's', rule: 'export' }); // replay after restart
    assert.equal(r.events.filter((e) => e.type === 'ungated' && e.data?.spanId === 's').length, 1);
  });
});

test('concurrent deciders: exactly one terminal event, the rest get 409', async () => {
  await withRig(async (r) => {
    await r.engine.open(input('x1'));
    const results = await Promise.all([
      r.engine.decide({ approvalId: 'x1', verdict: 'approve', by: alice, comment: '', channel: 'api' }),
      r.engine.decide({ approvalId: 'x1', verdict: 'deny', by: bob, comment: '', channel: 'slack' }),
      r.engine.cancel('x1', carol, 'not needed'),
    ]);
    assert.equal(results.filter((x) => x.ok).length, 1);
    assert.deepEqual(results.filter((x) => !x.ok).map((x) => !x.ok && x.status), [409, 409]);
    assert.equal(r.events.filter((e) => ['approved', 'denied', 'cancelled'].includes(e.type)).length, 1);
  });
});

test('replaying a log where two terminal events raced: the first in log order wins', () => {
  const state = emptyState();
  const base = { prevHash: '', hash: '' };
  const req = { ...input('z1'), id: 'z1', state: 'pending', createdAt: 0, expiresAt: 1, approvals: [], messages: [] };
  const evs: ApprovalEvent[] = [
    { ...base, seq: 1, at: 1, type: 'opened', approvalId: 'z1', data: { request: req } },
    { ...base, seq: 2, at: 2, type: 'denied', approvalId: 'z1', actor: bob },
    { ...base, seq: 3, at: 3, type: 'approved', approvalId: 'z1', actor: alice },
    { ...base, seq: 4, at: 4, type: 'executed', approvalId: 'z1' },
  ];
  const applied = evs.map((e) => applyEvent(state, e).applied);
  assert.deepEqual(applied, [true, true, false, false]);
  assert.equal(state.requests.get('z1')?.state, 'denied');
});

test('under concurrent opens, every listener call comes after its event is durable (open→listener figures printed)', async () => {
  await withRig(async (r) => {
    const lat: number[] = [];
    const started = new Map<string, bigint>();
    let early = 0;
    r.engine.onEvent((e) => {
      if (r.log.head().seq < e.seq) early++;
      const s = started.get(e.approvalId);
      if (s !== undefined && e.type === 'opened') lat.push(Number(process.hrtime.bigint() - s) / 1e6);
    });
    for (let round = 0; round < 20; round++) {
      await Promise.all(Array.from({ length: 10 }, (_, i) => {
        const id = `l${round}-${i}`;
        started.set(id, process.hrtime.bigint());
        return r.engine.open(input(id));
      }));
    }
    lat.sort((a, b) => a - b);
    assert.equal(lat.length, 200);
    assert.equal(early, 0, 'a listener saw an event before the journal had synced it');
    process.stdout.write(`# open→listener p50 ${lat[100]!.toFixed(2)} ms, p99 ${lat[197]!.toFixed(2)} ms (200 opens, 10 concurrent, fdatasync per commit)\n`);
  });
});

test('kill -9 while requests are opening: every acknowledged request is pending after restart, and the journal is intact', { timeout: 60_000 }, async () => {
  const { spawn } = await import('node:child_process');
  const { fileURLToPath } = await import('node:url');
  const dir = await mkdtemp(join(tmpdir(), 'sluice-crash-'));
  const engineModule = new URL('../../approvals/engine/engine.ts', import.meta.url).href;
  const journalModule = new URL('../../approvals/log/journal.ts', import.meta.url).href;
  // The child opens requests without pause and prints each id once open() resolved (the acknowledgement).
  const script = `
    import { pino } from 'pino';
    import { createApprovalEngine } from ${JSON.stringify(engineModule)};
    import { openJournal } from ${JSON.stringify(journalModule)};
    const logger = pino({ level: 'silent' });
    const log = await openJournal({ dir: process.argv[1], logger });
    const engine = await createApprovalEngine({ log, logger });
    const policy = { policy: 'p', rule: 'r', approvers: { groups: ['g'], users: [] }, minApprovals: 1, timeoutMs: 3600000, onTimeout: 'deny', channels: [] };
    for (let i = 0; ; i++) {
      const ids = Array.from({ length: 4 }, (_, j) => 'k' + i + '-' + j);
      await Promise.all(ids.map((id) => engine.open({ approvalId: id, actionHash: 'a'.repeat(64), action: 'x', resource: '', reason: 'r'.repeat(200), context: {}, requester: 'u', agent: 'a', traceId: '', spanId: '', policy })
        .then(() => process.stdout.write(id + '\\n'))));
    }`;
  const child = spawn(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', script, dir], { cwd: fileURLToPath(new URL('../../', import.meta.url)), stdio: ['ignore', 'pipe', 'inherit'] });
  const acked: string[] = [];
  let buf = '';
  await new Promise<void>((resolve) => {
    child.stdout.on('data', (d: Buffer) => {
      buf += d.toString();
      const parts = buf.split('\n');
      buf = parts.pop() ?? '';
      acked.push(...parts);
      if (acked.length >= 200 && child.exitCode === null && !child.killed) {
        child.kill('SIGKILL');
        resolve();
      }
    });
  });
  await new Promise((r) => child.once('close', r));
  try {
    const log = await openJournal({ dir, logger });
    const engine = await createApprovalEngine({ log, logger });
    for (const id of acked) assert.equal(engine.get(id)?.state, 'pending', `acknowledged request ${id} lost in the crash`);
    assert.ok(engine.list({ limit: 1e6 }).length >= acked.length);
    await engine.close();
    await log.close();
    assert.equal((await verifyChain(readJournalLines(journalPath(dir)))).ok, true);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});

/**
 * A shared log (as on Kafka) where another replica's record can be made to land
 * just before ours: the engine hears it through follow(), as from a real peer.
 */
class RacingLog implements ApprovalLog {
  private records: ApprovalEvent[] = [];
  private followers = new Set<(e: ApprovalEvent) => void>();
  private rivals: Array<{ before: string; event: NewApprovalEvent }> = [];

  rivalBefore(type: string, event: NewApprovalEvent): void {
    this.rivals.push({ before: type, event });
  }

  private store(e: NewApprovalEvent): ApprovalEvent {
    const head = this.head();
    const rec = { ...e, seq: head.seq + 1, prevHash: head.hash } as ApprovalEvent;
    rec.hash = recordHash(rec);
    this.records.push(rec);
    return rec;
  }

  async append(e: NewApprovalEvent): Promise<ApprovalEvent> {
    const i = this.rivals.findIndex((r) => r.before === e.type && r.event.approvalId === e.approvalId);
    if (i >= 0) {
      const [rival] = this.rivals.splice(i, 1);
      const theirs = this.store(rival!.event);
      for (const f of this.followers) f(theirs);
    }
    return this.store(e);
  }

  async *readAll(): AsyncIterable<ApprovalEvent> {
    yield* this.records;
  }

  head(): { seq: number; hash: string } {
    const last = this.records[this.records.length - 1];
    return last ? { seq: last.seq, hash: last.hash } : { seq: 0, hash: GENESIS_HASH };
  }

  async close(): Promise<void> {}

  follow(listener: (e: ApprovalEvent) => void): () => void {
    this.followers.add(listener);
    return () => this.followers.delete(listener);
  }
}

test('a decision that lost a race on a shared log is not announced as a decision; the audit stream gets it marked as not applied', async () => {
  const log = new RacingLog();
  const t = 1_700_000_000_000;
  const engine = await createApprovalEngine({ log, logger, now: () => t });
  const heard: Array<[string, string | undefined]> = [];
  engine.onEvent((e, r) => void heard.push([e.type, r?.state]));
  const audit: Array<[string, boolean | undefined]> = [];
  engine.onEvent((e, _r, info) => void audit.push([e.type, info?.applied]), { all: true });

  await engine.open(input('race-1'));
  // Bob's deny, taken by another replica, lands in the log just before Alice's approval.
  log.rivalBefore('approved', { at: t, type: 'denied', approvalId: 'race-1', actor: bob, channel: 'api', comment: 'no' });
  const res = await engine.decide({ approvalId: 'race-1', verdict: 'approve', by: alice, channel: 'api', comment: '' });

  assert.equal(res.ok, false);
  assert.equal(res.ok === false && res.status, 409);
  assert.equal(engine.get('race-1')?.state, 'denied');
  // Channels never hear "approved" for a denied request (the deny is announced by the replica that took it).
  assert.deepEqual(heard, [['opened', 'pending']]);
  // The audit copy (ClickHouse) still receives every durable record, and can tell this one changed nothing.
  assert.deepEqual(audit, [['opened', true], ['approved', false]]);
  await engine.close();
});
