// The kafka receiver: a store replica's input. All store replicas share one
// consumer group. Each fetched batch of a partition is decoded (OTLP
// protobuf) and queued; one writer hands everything queued (all partitions)
// to the pipeline as one batch, and commits each partition's offset only
// after the pipeline resolved — in a store pipeline without a batch
// processor, after ClickHouse acknowledged the rows. Fetching goes on while
// a write is in flight, up to max_pending_items, so a write carries many
// fetches (a ClickHouse insert costs about the same for 500 rows as for
// 20,000). A replica killed mid-write loses nothing: the group hands the
// uncommitted messages to another replica, which writes them again
// (at-least-once: duplicates are possible, loss is not).
//
// A write the pipeline refuses is retried with backoff, never skipped. A
// message that does not decode can never succeed, so it is counted, logged
// by topic/partition/offset, and skipped; otherwise one bad message would
// stop its partition for good.
import { type Batch as KafkaBatch, type Consumer as KafkaConsumer, type Kafka, type EachBatchPayload } from 'kafkajs';
import type { ComponentContext, Consumer, Receiver } from '../../component.js';
import { mergeBatches, type Batch, type Signal } from '../../model.js';
import { decodeLogs, decodeTraces } from '../../otlp/decode-protobuf.js';
import { createKafka } from '../../../exporters/kafka/client.js';
import type { KafkaReceiverConfig } from './config.js';

const TRANSPORT = 'kafka';

interface Queued {
  topic: string;
  partition: number;
  /** Offset just past the fetch's last message: what to commit once it is written. */
  commit: string;
  /** undefined when every message of the fetch was malformed: only its offset moves on. */
  batch?: Batch;
  items: number;
}

export class KafkaReceiver implements Receiver {
  private readonly kafka: Kafka;
  private readonly consumer: KafkaConsumer;
  private readonly topics = new Map<string, Signal>();
  private readonly stopping = new AbortController();
  private joined = false;
  private running?: Promise<void>;
  /** Fetched, not yet written, per signal. */
  private readonly queued: Record<Signal, Queued[]> = { traces: [], logs: [] };
  private readonly writers: Partial<Record<Signal, Promise<void>>> = {};
  private pendingItems = 0;
  private readonly drained = new Set<() => void>();

  constructor(
    private readonly config: KafkaReceiverConfig,
    private readonly next: Partial<Record<Signal, Consumer>>,
    private readonly ctx: ComponentContext,
  ) {
    if (next.traces) this.topics.set(config.traces.topic, 'traces');
    if (next.logs) this.topics.set(config.logs.topic, 'logs');
    if (config.traces.topic === config.logs.topic && next.traces && next.logs) {
      throw new Error(`kafka receiver ${ctx.id}: traces.topic and logs.topic are both "${config.traces.topic}"; give each signal its own topic`);
    }
    this.kafka = createKafka(config, ctx.logger, 5);
    this.consumer = this.kafka.consumer({
      groupId: config.group_id,
      sessionTimeout: config.session_timeout,
      heartbeatInterval: config.heartbeat_interval,
      maxWaitTimeInMs: config.max_fetch_wait,
      maxBytesPerPartition: config.max_partition_fetch_bytes,
      minBytes: config.min_fetch_bytes,
      allowAutoTopicCreation: true,
    });
    const c = this.consumer;
    c.on(c.events.GROUP_JOIN, () => {
      this.joined = true;
    });
    c.on(c.events.REBALANCING, () => {
      this.joined = false;
    });
    c.on(c.events.STOP, () => {
      this.joined = false;
    });
    c.on(c.events.CRASH, (e) => {
      this.joined = false;
      this.ctx.logger.error({ receiver: ctx.id, err: e.payload.error.message, restart: e.payload.restart }, 'kafka consumer crashed');
      // kafkajs restarts itself after retriable errors; after the others, so do we.
      if (!e.payload.restart && !this.stopping.signal.aborted) this.running = this.runUntilStopped();
    });
  }

  async start(): Promise<void> {
    if (this.topics.size === 0) throw new Error(`kafka receiver ${this.ctx.id} is in no traces or logs pipeline`);
    // In the background: a store may start before Kafka is reachable; it is
    // not ready until it joined the group.
    this.running = this.runUntilStopped();
  }

  ready(): boolean {
    return this.joined;
  }

  async shutdown(): Promise<void> {
    this.stopping.abort();
    await this.running;
    // The write in flight finishes (or, if refused, is left uncommitted for the next owner).
    await Promise.all(Object.values(this.writers));
    // Waits for the batch in flight (its write and commit), then leaves the group.
    await this.consumer.disconnect().catch((err: Error) => this.ctx.logger.warn({ err: err.message }, 'kafka consumer did not leave its group cleanly'));
  }

  private async runUntilStopped(): Promise<void> {
    let delay = this.config.retry.initial_interval;
    while (!this.stopping.signal.aborted) {
      try {
        await this.consumer.connect();
        await this.ensureTopics();
        await this.consumer.subscribe({ topics: [...this.topics.keys()], fromBeginning: this.config.initial_offset === 'earliest' });
        await this.consumer.run({
          autoCommit: false,
          eachBatchAutoResolve: false,
          partitionsConsumedConcurrently: this.config.partitions_consumed_concurrently,
          eachBatch: (payload) => this.eachBatch(payload),
        });
        this.ctx.logger.info({ receiver: this.ctx.id, group: this.config.group_id, topics: [...this.topics.keys()] }, 'kafka receiver consuming');
        return;
      } catch (err) {
        this.ctx.logger.warn({ receiver: this.ctx.id, err: (err as Error).message, retryInMs: delay }, 'kafka receiver could not join its group; retrying');
        await this.sleep(delay);
        delay = Math.min(delay * 2, this.config.retry.max_interval);
      }
    }
  }

  /** Topics are created where the cluster allows it; otherwise they auto-create on first produce or fetch. */
  private async ensureTopics(): Promise<void> {
    const admin = this.kafka.admin({ retry: { retries: 0 } });
    try {
      await admin.connect();
      await admin.createTopics({ topics: [...this.topics.keys()].map((topic) => ({ topic })), waitForLeaders: false });
    } catch (err) {
      this.ctx.logger.debug({ err: (err as Error).message }, 'createTopics failed; relying on topic auto-creation');
    } finally {
      await admin.disconnect().catch(() => undefined);
    }
  }

  private async eachBatch(p: EachBatchPayload): Promise<void> {
    const { batch } = p;
    const signal = this.topics.get(batch.topic);
    const last = batch.messages[batch.messages.length - 1];
    if (!signal || !last || this.stopping.signal.aborted) return;
    const decoded = this.decode(batch, signal);
    this.queued[signal].push({ topic: batch.topic, partition: batch.partition, commit: (BigInt(last.offset) + 1n).toString(), batch: decoded.batch, items: decoded.items });
    this.pendingItems += decoded.items;
    // Moves the fetch position on; the group's committed offset moves only after the write.
    p.resolveOffset(last.offset);
    this.writers[signal] ??= this.writeLoop(signal).finally(() => delete this.writers[signal]);
    // Backpressure: past the window, this partition waits for the writer (heartbeating meanwhile).
    while (this.pendingItems > this.config.max_pending_items && !this.stopping.signal.aborted && p.isRunning()) {
      await new Promise<void>((resolve) => {
        const t = setTimeout(done, 1_000);
        function done() {
          clearTimeout(t);
          resolve();
        }
        this.drained.add(done);
      });
      await p.heartbeat();
    }
  }

  /** Writes everything queued for a signal, one pipeline call at a time; retries a refused write, never skips it. */
  private async writeLoop(signal: Signal): Promise<void> {
    const queue = this.queued[signal];
    while (queue.length > 0) {
      const take = queue.splice(0);
      const parts = take.flatMap((q) => (q.batch ? [q.batch] : []));
      const items = take.reduce((n, q) => n + q.items, 0);
      let delay = this.config.retry.initial_interval;
      for (let attempt = 1; parts.length > 0; attempt++) {
        try {
          await this.next[signal]!.consume(mergeBatches(parts));
          break;
        } catch (err) {
          if (this.stopping.signal.aborted) {
            // Not committed: whoever owns these partitions next reads them again.
            queue.length = 0;
            this.release(this.pendingItems);
            return;
          }
          this.ctx.logger.warn({ receiver: this.ctx.id, signal, items, attempt, retryInMs: delay, err: (err as Error).message }, 'pipeline refused a batch from kafka; retrying');
          await this.sleep(delay);
          delay = Math.min(delay * 2, this.config.retry.max_interval);
        }
      }
      if (items > 0) this.ctx.metrics.receiverAccepted.inc({ receiver: this.ctx.id, transport: TRANSPORT, signal }, items);
      // The latest offset per partition (a partition's fetches are queued in order).
      const offsets = new Map<string, { topic: string; partition: number; offset: string }>();
      for (const q of take) offsets.set(`${q.topic}/${q.partition}`, { topic: q.topic, partition: q.partition, offset: q.commit });
      try {
        await this.consumer.commitOffsets([...offsets.values()]);
      } catch (err) {
        // After a rebalance the partition may be someone else's: they re-read from the last commit (duplicates, not loss).
        this.ctx.logger.warn({ receiver: this.ctx.id, err: (err as Error).message }, 'kafka offset commit failed; the rows are written and may be written again by the next owner');
      }
      this.release(items);
    }
  }

  private release(items: number): void {
    this.pendingItems = Math.max(0, this.pendingItems - items);
    for (const d of [...this.drained]) {
      this.drained.delete(d);
      d();
    }
  }

  private decode(batch: KafkaBatch, signal: Signal): { batch?: Batch; items: number } {
    const parts: Batch[] = [];
    let items = 0;
    for (const m of batch.messages) {
      try {
        if (!m.value) throw new Error('the message has no value');
        const r = signal === 'traces' ? decodeTraces(m.value) : decodeLogs(m.value);
        if (r.rejected > 0) {
          this.ctx.metrics.receiverRefused.inc({ receiver: this.ctx.id, transport: TRANSPORT, signal, reason: 'malformed' }, r.rejected);
          this.ctx.logger.warn({ receiver: this.ctx.id, topic: batch.topic, partition: batch.partition, offset: m.offset, rejected: r.rejected, reasons: r.errors }, 'items of a kafka message did not validate; skipped');
        }
        if (r.accepted > 0) {
          parts.push(r.batch);
          items += r.accepted;
        }
      } catch (err) {
        this.ctx.metrics.receiverRefused.inc({ receiver: this.ctx.id, transport: TRANSPORT, signal, reason: 'malformed' }, 1);
        this.ctx.logger.error({ receiver: this.ctx.id, topic: batch.topic, partition: batch.partition, offset: m.offset, err: (err as Error).message }, 'kafka message is not OTLP protobuf; skipped');
      }
    }
    return { batch: parts.length > 0 ? mergeBatches(parts) : undefined, items };
  }

  private sleep(ms: number): Promise<void> {
    return new Promise((resolve) => {
      if (this.stopping.signal.aborted) return resolve();
      const t = setTimeout(resolve, ms * (0.8 + Math.random() * 0.4));
      this.stopping.signal.addEventListener('abort', () => (clearTimeout(t), resolve()), { once: true });
    });
  }
}
