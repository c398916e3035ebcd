// The approval log on Kafka, for scale-out: one topic, keyed (and
// partitioned) by approval id, read in full by every replica so each
// rebuilds the same state with the same reducer. A request opened on one
// edge can be decided through another and long-polled on a third.
//
// The hash chain is kept per partition, with the journal's rules
// (chain.ts): a record's hash covers its canonical JSON including `seq`
// and `prevHash`. Several replicas write to one partition without a lock,
// so a writer stamps a record from the partition's head as it last read it
// and produces it; every reader then accepts the record only if it extends
// the head it holds (seq = head + 1, prevHash = head hash, hash intact).
// A record that lost a race (another replica's record took that seq first)
// is superseded: nobody applies it, and its writer stamps it again from the
// new head. All replicas read one partition in one order, so they accept
// the same records, and of two racing terminal events the first accepted
// in partition order wins everywhere (the reducer's compare-and-set does
// the rest). append() resolves only once this replica read its record back
// as accepted: durable on the brokers (acks -1) and placed in the chain.
//
// Verification (`sluice audit verify`): per partition, the accepted chain
// must be gap-free, and a superseded record is legitimate only if its own
// hash is intact and an accepted record holds its seq by the end (it lost
// a race). A removed or altered record leaves records past the head, which
// names it.
import { createHash, randomBytes } from 'node:crypto';
import type { Logger } from 'pino';
import { z } from 'zod';
import { duration } from '../../config/units.js';
import { Partitioners, type Consumer, type IHeaders, type Kafka, type Producer } from 'kafkajs';
import { createKafka, kafkaConnectionShape } from '../../exporters/kafka/client.js';
import type { ApprovalEvent } from '../types.js';
import { canonicalJson, recordHash } from './chain.js';
import type { StoredRecord, VerifyResult } from './verify.js';
import { GENESIS_HASH, type ApprovalLog, type NewApprovalEvent } from './types.js';

export const kafkaApprovalLogSchema = z
  .object({
    type: z.literal('kafka'),
    ...kafkaConnectionShape,
    /** One topic for every approval event; records are keyed by approval id. */
    topic: z
      .string()
      .regex(/^[A-Za-z0-9._-]{1,249}$/, 'a Kafka topic name is 1–249 letters, digits, ".", "_" or "-"')
      .default('sluice_approvals'),
    /** Most events stamped and produced together for one partition (group commit). */
    max_batch: z.number().int().min(1).max(10_000).default(512),
    /** An append not read back as accepted within this time fails (the caller is told; nothing is half-decided). */
    append_timeout: duration('10s'),
    /** How long opening may take to read the topic to its end (the state every replica rebuilds). */
    catch_up_timeout: duration('60s'),
    /** See the kafka exporter: librdkafka's mock cluster cannot serve an idempotent producer. */
    idempotent: z.boolean().default(true),
  })
  .strict();

export type KafkaApprovalLogConfig = z.output<typeof kafkaApprovalLogSchema>;

/** Which header carries the writer of a record (`<writer id>:<counter>`); not part of the hash. */
export const ORIGIN_HEADER = 'sluice-origin';

interface Head {
  seq: number;
  hash: string;
}

export type Verdict = 'accepted' | 'superseded' | 'altered';

/** Whether `rec` extends the partition whose head is `head`. */
export function judge(head: Head, rec: ApprovalEvent): Verdict {
  if (typeof rec.seq !== 'number' || typeof rec.hash !== 'string' || typeof rec.prevHash !== 'string') return 'altered';
  if (recordHash(rec) !== rec.hash) return 'altered';
  return rec.seq === head.seq + 1 && rec.prevHash === head.hash ? 'accepted' : 'superseded';
}

/** Stable partition of an approval id: every writer must agree, so it is computed here, not by a client partitioner. */
export function partitionOf(approvalId: string, partitions: number): number {
  return createHash('sha256').update(approvalId).digest().readUInt32BE(0) % partitions;
}

/**
 * Checks one partition's records in offset order. Superseded records (race
 * losers, producer retries) are allowed where an accepted record holds their
 * seq; anything else past the head means a record was removed or altered.
 */
export function verifyPartition(records: Iterable<StoredRecord>): VerifyResult & { superseded: number } {
  let head: Head = { seq: 0, hash: GENESIS_HASH };
  let count = 0;
  const losers: Array<{ seq: number; position: number }> = [];
  for (const it of records) {
    const rec = it.record;
    const fail = (seq: number, why: string, kind: 'altered' | 'missing' = 'altered') => ({
      ok: false,
      count,
      headSeq: head.seq,
      headHash: head.hash,
      superseded: losers.length,
      problem: { kind, seq, position: it.position, message: `record seq ${seq}: ${kind} (${why})` },
    });
    if (!rec) return fail(head.seq + 1, `${it.error ?? 'unreadable'} at offset position ${it.position}`);
    const v = judge(head, rec);
    if (v === 'altered') return fail(typeof rec.seq === 'number' ? rec.seq : head.seq + 1, 'its content does not match its hash');
    if (v === 'superseded') {
      losers.push({ seq: rec.seq, position: it.position });
      continue;
    }
    head = { seq: rec.seq, hash: rec.hash };
    count++;
  }
  const orphan = losers.find((l) => l.seq > head.seq);
  if (orphan) {
    return {
      ok: false,
      count,
      headSeq: head.seq,
      headHash: head.hash,
      superseded: losers.length,
      problem: {
        kind: 'missing',
        seq: head.seq + 1,
        position: orphan.position,
        message: `record seq ${head.seq + 1}: missing or altered (the chain stops at seq ${head.seq}, yet a record with seq ${orphan.seq} follows at position ${orphan.position})`,
      },
    };
  }
  return { ok: true, count, headSeq: head.seq, headHash: head.hash, superseded: losers.length };
}

interface PendingAppend {
  n: number;
  event: NewApprovalEvent;
  partition: number;
  resolve: (e: ApprovalEvent) => void;
  reject: (err: Error) => void;
  timer: NodeJS.Timeout;
  /** The stamped record in flight, until its verdict is read. */
  inFlight?: ApprovalEvent;
  /** Wakes the writer once the reader judged the record in flight. */
  verdict?: () => void;
}

interface PartitionState {
  head: Head;
  /** Offset of the next record to read. */
  next: bigint;
  queue: PendingAppend[];
  writing: boolean;
}

type Follower = (event: ApprovalEvent) => void;

export interface KafkaApprovalLogOptions {
  config: KafkaApprovalLogConfig;
  logger: Logger;
}

/** Connects, reads the topic to its end (so readAll() holds the whole state), and is ready to append. */
export async function openKafkaApprovalLog(opts: KafkaApprovalLogOptions): Promise<KafkaApprovalLog> {
  const log = new KafkaApprovalLog(opts);
  try {
    await log.open();
  } catch (err) {
    await log.close().catch(() => undefined);
    throw err;
  }
  return log;
}

export class KafkaApprovalLog implements ApprovalLog {
  /** Distinguishes this process's records from every other writer's. */
  readonly writerId = randomBytes(8).toString('hex');
  private readonly kafka: Kafka;
  private readonly producer: Producer;
  private readonly consumer: Consumer;
  private readonly partitions = new Map<number, PartitionState>();
  private partitionCount = 0;
  private readonly pending = new Map<number, PendingAppend>();
  private counter = 0;
  /** Every accepted record, in the order this replica accepted them. */
  private readonly accepted: ApprovalEvent[] = [];
  /** Accepted records that answered this replica's own append (the caller applies those itself). */
  private readonly answered = new WeakSet<ApprovalEvent>();
  private readUpTo = 0;
  private followers = new Set<Follower>();
  private lastHead: Head = { seq: 0, hash: GENESIS_HASH };
  private closed = false;
  private failure?: Error;

  constructor(private readonly opts: KafkaApprovalLogOptions) {
    const c = opts.config;
    this.kafka = createKafka(c, opts.logger, 5);
    this.producer = this.kafka.producer({ createPartitioner: Partitioners.DefaultPartitioner, idempotent: c.idempotent, maxInFlightRequests: 1, allowAutoTopicCreation: true, retry: { retries: 5 } });
    // A group of its own, never committed: every replica reads every record from the start.
    this.consumer = this.kafka.consumer({ groupId: `${c.client_id}-approvals-${this.writerId}`, maxWaitTimeInMs: 100, sessionTimeout: 10_000, heartbeatInterval: 1_000, allowAutoTopicCreation: true });
  }

  async open(): Promise<void> {
    const { topic } = this.opts.config;
    const admin = this.kafka.admin();
    await admin.connect().catch((err: Error) => {
      // kafkajs says only "Connection error: connect ECONNREFUSED …".
      throw new Error(`the approval log on Kafka (brokers ${this.opts.config.brokers.join(', ')}) cannot be reached: ${err.message}; check approvals.log.brokers and that Kafka is up`);
    });
    try {
      // Every record from the first is needed to rebuild and verify the chain: no retention, no compaction.
      await admin
        .createTopics({ topics: [{ topic, configEntries: [{ name: 'retention.ms', value: '-1' }, { name: 'cleanup.policy', value: 'delete' }] }], waitForLeaders: true }).catch((err: Error) => {
        this.opts.logger.debug({ err: err.message }, 'createTopics failed; relying on topic auto-creation');
      });
      await this.producer.connect();
      const meta = await admin.fetchTopicMetadata({ topics: [topic] });
      this.partitionCount = meta.topics[0]?.partitions.length ?? 0;
      if (this.partitionCount === 0) throw new Error(`approval log topic ${topic} has no partitions; create it (any partition count) or enable auto-creation`);
      for (let p = 0; p < this.partitionCount; p++) this.partitions.set(p, { head: { seq: 0, hash: GENESIS_HASH }, next: 0n, queue: [], writing: false });
      const ends = await admin.fetchTopicOffsets(topic);
      await this.consumer.connect();
      await this.consumer.subscribe({ topics: [topic], fromBeginning: true });
      await this.consumer.run({ autoCommit: false, eachBatch: async ({ batch }) => this.readBatch(batch.partition, batch.messages) });
      const deadline = Date.now() + this.opts.config.catch_up_timeout;
      const caughtUp = () => ends.every((e) => (this.partitions.get(e.partition)?.next ?? 0n) >= BigInt(e.high));
      while (!caughtUp()) {
        if (this.failure) throw this.failure;
        if (Date.now() > deadline) throw new Error(`could not read approval log topic ${topic} to its end within ${this.opts.config.catch_up_timeout} ms; check the brokers`);
        await new Promise((r) => setTimeout(r, 20));
      }
    } finally {
      await admin.disconnect().catch(() => undefined);
    }
    this.opts.logger.info({ topic, partitions: this.partitionCount, records: this.accepted.length }, 'approval log read from kafka');
  }

  head(): { seq: number; hash: string } {
    return { ...this.lastHead };
  }

  /** Every accepted record so far, in this replica's accept order (per partition: log order). */
  async *readAll(): AsyncIterable<ApprovalEvent> {
    const end = this.accepted.length;
    for (let i = 0; i < end; i++) yield this.accepted[i]!;
    this.readUpTo = Math.max(this.readUpTo, end);
  }

  /**
   * Calls `listener` with every record accepted after what readAll() yielded,
   * except those that answered this replica's own append() (whose caller
   * applies them). This is how an engine follows the other replicas.
   */
  follow(listener: Follower): () => void {
    for (let i = this.readUpTo; i < this.accepted.length; i++) {
      const rec = this.accepted[i]!;
      if (!this.answered.has(rec)) listener(rec);
    }
    this.readUpTo = this.accepted.length;
    this.followers.add(listener);
    return () => this.followers.delete(listener);
  }

  append(event: NewApprovalEvent): Promise<ApprovalEvent> {
    if (this.closed) return Promise.reject(new Error('approval log is closed'));
    if (this.failure) return Promise.reject(new Error(`approval log failed earlier and accepts no more events: ${this.failure.message}`));
    const partition = partitionOf(event.approvalId, this.partitionCount);
    return new Promise((resolve, reject) => {
      const n = ++this.counter;
      const timer = setTimeout(() => {
        this.pending.delete(n);
        const st = this.partitions.get(partition)!;
        st.queue = st.queue.filter((p) => p.n !== n);
        reject(new Error(`approval event not confirmed by kafka within ${this.opts.config.append_timeout} ms; it may still be recorded (the log is the truth)`));
      }, this.opts.config.append_timeout);
      const p: PendingAppend = { n, event, partition, resolve, reject, timer };
      this.pending.set(n, p);
      const st = this.partitions.get(partition)!;
      st.queue.push(p);
      if (!st.writing) void this.writePartition(partition, st);
    });
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    const end = Date.now() + 5_000;
    while (this.pending.size > 0 && Date.now() < end) await new Promise((r) => setTimeout(r, 20));
    for (const p of this.pending.values()) {
      clearTimeout(p.timer);
      p.reject(new Error('approval log closed before the event was confirmed'));
    }
    this.pending.clear();
    await this.consumer.disconnect().catch(() => undefined);
    await this.producer.disconnect().catch(() => undefined);
  }

  /** Stamps queued events from the partition's head, produces them, and waits for their verdicts; losers go again. */
  private async writePartition(partition: number, st: PartitionState): Promise<void> {
    st.writing = true;
    try {
      while (st.queue.length > 0 && !this.failure) {
        const batch = st.queue.slice(0, this.opts.config.max_batch);
        let { seq, hash: prev } = st.head;
        const messages: Array<{ key: string; value: string; partition: number; headers: IHeaders }> = [];
        const stamped: PendingAppend[] = [];
        for (const p of batch) {
          try {
            const rec = { ...p.event, seq: ++seq, prevHash: prev } as ApprovalEvent;
            rec.hash = recordHash(rec);
            const value = canonicalJson(rec);
            prev = rec.hash;
            p.inFlight = rec;
            stamped.push(p);
            messages.push({ key: p.event.approvalId, value, partition, headers: { [ORIGIN_HEADER]: `${this.writerId}:${p.n}` } });
          } catch (err) {
            // A caller's unserialisable event must not take the others down with it.
            seq--;
            this.settle(p, err as Error);
          }
        }
        if (stamped.length === 0) continue;
        const verdicts = stamped.map((p) => new Promise<void>((r) => (p.verdict = r)));
        try {
          await this.producer.send({ topic: this.opts.config.topic, messages, acks: -1 });
        } catch (err) {
          for (const p of stamped) this.settle(p, new Error(`approval event not stored: ${(err as Error).message}`));
          continue;
        }
        // Resolved by the reader for each record: accepted (settled), superseded (left queued to go again), or timed out.
        await Promise.race([Promise.all(verdicts), new Promise((r) => setTimeout(r, this.opts.config.append_timeout))]);
      }
    } finally {
      st.writing = false;
    }
  }

  private settle(p: PendingAppend, result: ApprovalEvent | Error): void {
    clearTimeout(p.timer);
    this.pending.delete(p.n);
    const st = this.partitions.get(p.partition)!;
    const i = st.queue.indexOf(p);
    if (i >= 0) st.queue.splice(i, 1);
    p.verdict?.();
    if (result instanceof Error) p.reject(result);
    else p.resolve(result);
  }

  private async readBatch(partition: number, messages: Array<{ offset: string; value: Buffer | null; headers?: IHeaders }>): Promise<void> {
    const st = this.partitions.get(partition);
    if (!st) {
      this.failure ??= new Error(`approval log topic gained partition ${partition} after start; restart every replica (changing the partition count moves approval ids between chains)`);
      return;
    }
    for (const m of messages) {
      const offset = BigInt(m.offset);
      if (offset < st.next) continue;
      st.next = offset + 1n;
      let rec: ApprovalEvent | undefined;
      try {
        rec = m.value ? (JSON.parse(m.value.toString('utf8')) as ApprovalEvent) : undefined;
      } catch {
        rec = undefined;
      }
      const verdict: Verdict = rec && typeof rec === 'object' ? judge(st.head, rec) : 'altered';
      const origin = m.headers?.[ORIGIN_HEADER]?.toString() ?? '';
      const mine = origin.startsWith(this.writerId + ':') ? this.pending.get(Number(origin.slice(this.writerId.length + 1))) : undefined;
      if (verdict === 'altered') {
        this.opts.logger.error({ partition, offset: m.offset }, 'approval log record does not match its hash; ignored (run sluice audit verify)');
        continue;
      }
      if (verdict === 'superseded') {
        // Lost a race: if it is ours and still wanted, it goes again from the new head.
        if (mine && mine.inFlight?.hash === rec!.hash) {
          mine.inFlight = undefined;
          mine.verdict?.();
        }
        continue;
      }
      st.head = { seq: rec!.seq, hash: rec!.hash };
      this.lastHead = st.head;
      this.accepted.push(rec!);
      if (mine && mine.inFlight?.hash === rec!.hash) {
        this.answered.add(rec!);
        if (this.followers.size > 0) this.readUpTo = this.accepted.length;
        this.settle(mine, rec!);
        // Let the caller apply its own record before any later record is delivered.
        await new Promise((r) => setImmediate(r));
      } else if (this.followers.size > 0) {
        this.readUpTo = this.accepted.length;
        for (const f of this.followers) {
          try {
            f(rec!);
          } catch (err) {
            this.opts.logger.error({ err: (err as Error).message, type: rec!.type }, 'approval log follower threw');
          }
        }
      }
    }
  }
}

/** Reads every record of the approval topic, per partition in offset order (for `sluice audit verify`). */
export async function readApprovalTopic(config: KafkaApprovalLogConfig, logger: Logger): Promise<Map<number, StoredRecord[]>> {
  const kafka = createKafka(config, logger, 3);
  const admin = kafka.admin();
  await admin.connect();
  const out = new Map<number, StoredRecord[]>();
  const consumer = kafka.consumer({ groupId: `${config.client_id}-audit-${randomBytes(8).toString('hex')}`, maxWaitTimeInMs: 100, allowAutoTopicCreation: false });
  try {
    const ends = await admin.fetchTopicOffsets(config.topic);
    for (const e of ends) out.set(e.partition, []);
    const next = new Map<number, bigint>();
    if (ends.every((e) => BigInt(e.high) === 0n)) return out;
    await consumer.connect();
    await consumer.subscribe({ topics: [config.topic], fromBeginning: true });
    await consumer.run({
      autoCommit: false,
      eachBatch: async ({ batch }) => {
        const list = out.get(batch.partition) ?? [];
        for (const m of batch.messages) {
          let record: ApprovalEvent | undefined;
          try {
            record = JSON.parse(m.value?.toString('utf8') ?? '') as ApprovalEvent;
          } catch {
            record = undefined;
          }
          list.push(record && typeof record === 'object' ? { position: Number(m.offset) + 1, record } : { position: Number(m.offset) + 1, error: 'not valid JSON' });
          next.set(batch.partition, BigInt(m.offset) + 1n);
        }
      },
    });
    const deadline = Date.now() + config.catch_up_timeout;
    while (!ends.every((e) => (next.get(e.partition) ?? 0n) >= BigInt(e.high))) {
      if (Date.now() > deadline) throw new Error(`could not read approval log topic ${config.topic} to its end within ${config.catch_up_timeout} ms`);
      await new Promise((r) => setTimeout(r, 20));
    }
    return out;
  } finally {
    await consumer.disconnect().catch(() => undefined);
    await admin.disconnect().catch(() => undefined);
  }
}

/** Verifies every partition's chain of the approval topic; ok only if all are intact. */
export async function verifyKafkaApprovalLog(config: KafkaApprovalLogConfig, logger: Logger): Promise<Array<{ partition: number; result: ReturnType<typeof verifyPartition> }>> {
  const parts = await readApprovalTopic(config, logger);
  return [...parts].sort((a, b) => a[0] - b[0]).map(([partition, records]) => ({ partition, result: verifyPartition(records) }));
}
