// The approval log on Kafka against librdkafka's mock cluster: three
// replicas follow one topic with the engine's reducer; a request opened on
// one is seen on the others, racing decisions resolve identically on all,
// a late replica rebuilds the same state, and the per-partition hash chain
// verifies, with a removed or altered record detected.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { Kafka, logLevel } from 'kafkajs';
import { pino } from 'pino';
import { applyEvent, emptyState, type ApprovalStateStore } from '../../approvals/engine/reducer.js';
import { kafkaApprovalLogSchema, openKafkaApprovalLog, readApprovalTopic, verifyKafkaApprovalLog, verifyPartition, type KafkaApprovalLog } from '../../approvals/log/kafka.js';
import type { ApprovalEvent, ApprovalRequest, Identity } from '../../approvals/types.js';
import { startKafkaMock, type KafkaMock } from '../helpers/kafka-mock.js';

const logger = pino({ level: 'silent' });
const person = (id: string): Identity => ({ id, groups: ['sre'], via: 'dev' });

/** A replica as the engine runs one: the reducer over readAll(), then over what the log delivers from other replicas. */
class Replica {
  readonly state: ApprovalStateStore = emptyState();
  applied = 0;
  private constructor(readonly log: KafkaApprovalLog) {}

  static async open(config: ReturnType<typeof kafkaApprovalLogSchema.parse>): Promise<Replica> {
    const r = new Replica(await openKafkaApprovalLog({ config, logger }));
    for await (const ev of r.log.readAll()) r.apply(ev);
    r.log.follow((ev) => r.apply(ev));
    return r;
  }

  apply(ev: ApprovalEvent): void {
    applyEvent(this.state, ev);
    this.applied++;
  }

  async openRequest(id: string): Promise<void> {
    const request = { id, state: 'pending', createdAt: 1, expiresAt: 10_000_000_000_000, actionHash: 'h', action: 'db.export', resource: 'r', reason: '', context: {}, requester: 'agent-user', agent: 'a', traceId: '', spanId: '', policy: { policy: 'p', rule: 'r', approvers: { groups: ['sre'], users: [] }, minApprovals: 1, timeoutMs: 60_000, onTimeout: 'deny', channels: [] }, approvals: [], messages: [] } satisfies ApprovalRequest;
    this.apply(await this.log.append({ at: 1, type: 'opened', approvalId: id, data: { request } }));
  }

  /** The engine's decide: check the state, append, apply. */
  async decide(id: string, verdict: 'approved' | 'denied', by: string): Promise<void> {
    if (this.state.requests.get(id)?.state !== 'pending') return;
    this.apply(await this.log.append({ at: Date.now(), type: verdict, approvalId: id, actor: person(by), channel: 'api', comment: '' }));
  }

  stateOf(id: string): string | undefined {
    return this.state.requests.get(id)?.state;
  }
}

async function until(cond: () => boolean, what: string, ms = 20_000): Promise<void> {
  const end = Date.now() + ms;
  while (!cond()) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

describe('approval log on kafka', () => {
  let mock: KafkaMock;
  const replicas: Replica[] = [];
  let config: ReturnType<typeof kafkaApprovalLogSchema.parse>;

  before(async () => {
    mock = await startKafkaMock();
    // idempotent: false — the mock reports controller 0, which is none of its brokers.
    config = kafkaApprovalLogSchema.parse({ type: 'kafka', brokers: mock.brokers, topic: `approvals_${randomBytes(4).toString('hex')}`, idempotent: false, append_timeout: '15s' });
    replicas.push(...(await Promise.all([0, 1, 2].map(() => Replica.open(config)))));
  });
  after(async () => {
    for (const r of replicas) await r.log.close();
    await mock?.stop();
  });

  test('opened on one replica, seen on the others; racing decisions resolve identically everywhere', async () => {
    const [a, b, c] = replicas as [Replica, Replica, Replica];
    const ids = Array.from({ length: 8 }, (_, i) => `req-${i}-${randomBytes(3).toString('hex')}`);
    await Promise.all(ids.map((id) => a.openRequest(id)));
    await until(() => ids.every((id) => b.stateOf(id) === 'pending' && c.stateOf(id) === 'pending'), 'the others to see every request');

    // b approves and c denies each request at the same moment.
    await Promise.all(ids.flatMap((id) => [b.decide(id, 'approved', 'alice'), c.decide(id, 'denied', 'bob')]));
    await until(() => ids.every((id) => replicas.every((r) => r.stateOf(id) !== 'pending')), 'every replica to see a decision');

    // The winner is the first terminal record in the partition's accepted order, on every replica.
    const firstTerminal = new Map<string, string>();
    for await (const ev of a.log.readAll()) if ((ev.type === 'approved' || ev.type === 'denied') && !firstTerminal.has(ev.approvalId)) firstTerminal.set(ev.approvalId, ev.type);
    for (const id of ids) {
      const states = replicas.map((r) => r.stateOf(id));
      assert.deepEqual(states, [states[0], states[0], states[0]], `replicas disagree on ${id}`);
      assert.equal(states[0], firstTerminal.get(id));
    }
    // Full decisions are identical too (who approved or denied).
    for (const id of ids) {
      const views = replicas.map((r) => JSON.stringify({ s: r.state.requests.get(id)!.state, ap: r.state.requests.get(id)!.approvals.map((x) => x.by.id), d: r.state.requests.get(id)!.denial?.by.id }));
      assert.equal(new Set(views).size, 1);
    }
  });

  test('a replica that starts later rebuilds the same state from the topic', async () => {
    const late = await Replica.open(config);
    replicas.push(late);
    for (const [id, req] of replicas[0]!.state.requests) assert.equal(late.stateOf(id), req.state);
    assert.equal(late.state.requests.size, replicas[0]!.state.requests.size);
  });

  test('every partition chain verifies; a removed or altered record is named', async () => {
    const parts = await readApprovalTopic(config, logger);
    assert.ok(parts.size > 1, 'the topic has several partitions');
    let total = 0;
    for (const result of [...parts.values()].map((r) => verifyPartition(r))) {
      assert.equal(result.ok, true, result.problem?.message);
      total += result.count;
    }
    let accepted = 0;
    for await (const _ of replicas[0]!.log.readAll()) accepted++;
    assert.equal(total, accepted, 'the verified chains hold exactly the records the replicas accepted');

    const [, records] = [...parts].find(([, r]) => r.filter((x) => x.record).length >= 3)!;
    // Remove the first record: the chain no longer starts at seq 1.
    const removed = verifyPartition(records.slice(1));
    assert.equal(removed.ok, false);
    assert.equal(removed.problem?.kind, 'missing');
    // Alter a record's content without fixing its hash.
    const altered = records.map((r, i) => (i === 1 ? { ...r, record: { ...r.record!, comment: 'edited' } } : r));
    assert.equal(verifyPartition(altered).problem?.kind, 'altered');
    // Alter a record and recompute its hash: the next record no longer links, and is named.
    const { recordHash } = await import('../../approvals/log/chain.js');
    const forged = records.map((r, i) => {
      if (i !== 0) return r;
      const rec = { ...r.record!, comment: 'forged' };
      rec.hash = recordHash(rec);
      return { ...r, record: rec };
    });
    assert.equal(verifyPartition(forged).ok, false);
  });

  test('a forged record produced to the topic is applied by no replica and fails verification', async () => {
    const [a] = replicas as [Replica];
    const id = `req-forged-${randomBytes(3).toString('hex')}`;
    await a.openRequest(id);
    const producer = new Kafka({ brokers: mock.brokers, logLevel: logLevel.NOTHING }).producer();
    await producer.connect();
    const fake = { seq: 999, at: 1, type: 'approved', approvalId: id, actor: person('mallory'), prevHash: '0'.repeat(64), hash: 'f'.repeat(64) };
    await producer.send({ topic: config.topic, messages: [{ key: id, value: JSON.stringify(fake) }] });
    await producer.disconnect();
    const results = await verifyKafkaApprovalLog(config, logger);
    assert.equal(results.some(({ result }) => result.problem?.kind === 'altered'), true);
    // A replica that reads the whole topic, forged record included, still holds the request pending.
    const fresh = await Replica.open(config);
    replicas.push(fresh);
    assert.equal(fresh.stateOf(id), 'pending');
  });
});

test('brokers that cannot be reached: the start fails naming the approval log, the brokers and the setting', async () => {
  const config = kafkaApprovalLogSchema.parse({ type: 'kafka', brokers: ['127.0.0.1:1'], topic: 'sluice.approvals' });
  await assert.rejects(
    openKafkaApprovalLog({ config, logger }),
    /^Error: the approval log on Kafka \(brokers 127\.0\.0\.1:1\) cannot be reached: .*ECONNREFUSED.*; check approvals\.log\.brokers/,
  );
});
