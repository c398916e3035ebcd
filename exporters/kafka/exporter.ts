// The kafka exporter: sanitized batches onto Kafka as OTLP protobuf, for
// store replicas (or a stock collector) to consume. export() resolves only
// once every broker in the ISR acknowledged (acks -1, idempotent producer),
// so an edge pipeline without a batch processor answers its OTLP client only
// after Kafka holds the data, and a Kafka outage reaches the client as
// 503/UNAVAILABLE instead of loss.
//
// Exports that arrive while a produce request is in flight are coalesced
// into the next one (group commit): kafkajs allows one request in flight per
// broker for an idempotent producer, so sending each export alone would
// serialise the edge on broker round trips.
import { CompressionTypes, Partitioners, type Kafka, type Message, type Producer, type TopicMessages } from 'kafkajs';
import type { ComponentContext, Exporter } from '../../pipeline/component.js';
import { countItems, type Batch, type LogBatch, type TraceBatch } from '../../pipeline/model.js';
import { encodeLogs, encodeTraces } from '../../pipeline/otlp/encode-protobuf.js';
import { createKafka } from './client.js';
import type { KafkaExporterConfig } from './config.js';
import { halve, splitLogsByTraceId, splitTracesByTraceId } from './split.js';

interface Pending {
  topic: string;
  messages: Message[];
  bytes: number;
  resolve: () => void;
  reject: (err: Error) => void;
}

export class KafkaExporter implements Exporter {
  private readonly kafka: Kafka;
  private readonly producer: Producer;
  private connected = false;
  private failing = false;
  private connecting?: Promise<void>;
  private queue: Pending[] = [];
  private sending = false;
  private closed = false;

  constructor(
    private readonly config: KafkaExporterConfig,
    private readonly ctx: ComponentContext,
  ) {
    this.kafka = createKafka(config, ctx.logger, config.producer.max_retries);
    this.producer = this.kafka.producer({
      idempotent: config.producer.idempotent,
      // Required by kafkajs for an idempotent producer; keeps per-partition order without it.
      maxInFlightRequests: 1,
      allowAutoTopicCreation: true,
      createPartitioner: Partitioners.DefaultPartitioner,
      retry: { retries: config.producer.max_retries, initialRetryTime: 100, maxRetryTime: 2_000 },
    });
    this.producer.on(this.producer.events.DISCONNECT, () => {
      this.connected = false;
    });
  }

  async start(): Promise<void> {
    // Not awaited to the end: an edge may start while Kafka is down; it is
    // not ready and answers 503 until the brokers are reachable.
    this.connect().catch((err: Error) => this.ctx.logger.warn({ err: err.message, brokers: this.config.brokers }, 'kafka exporter: brokers not reachable yet; exports fail with backpressure until they are'));
  }

  ready(): boolean {
    return this.connected && !this.failing;
  }

  async export(batch: Batch): Promise<void> {
    if (this.closed) throw new Error('kafka exporter is shut down');
    const topic = batch.signal === 'traces' ? this.config.traces.topic : this.config.logs.topic;
    const messages = this.encode(batch);
    if (messages.length === 0) return;
    await this.withDeadline(this.connect());
    let bytes = 0;
    for (const m of messages) bytes += (m.value as Buffer).length;
    await this.withDeadline(
      new Promise<void>((resolve, reject) => {
        this.queue.push({ topic, messages, bytes, resolve, reject });
        if (!this.sending) void this.drain();
      }),
    );
  }

  async shutdown(): Promise<void> {
    this.closed = true;
    while (this.sending || this.queue.length > 0) await new Promise((r) => setTimeout(r, 10));
    await this.producer.disconnect().catch(() => undefined);
  }

  /** Messages for one batch: one per trace id (keyed) or one for the whole batch. */
  encode(batch: Batch): Message[] {
    const out: Message[] = [];
    if (batch.signal === 'traces') {
      if (!this.config.partition_traces_by_id) this.pushSized(out, null, batch);
      else for (const [traceId, part] of splitTracesByTraceId(batch)) this.pushSized(out, traceId || null, part);
    } else {
      if (!this.config.partition_logs_by_trace_id) this.pushSized(out, null, batch);
      else for (const [traceId, part] of splitLogsByTraceId(batch)) this.pushSized(out, traceId || null, part);
    }
    return out;
  }

  private pushSized(out: Message[], key: string | null, batch: TraceBatch | LogBatch): void {
    const value = batch.signal === 'traces' ? encodeTraces(batch) : encodeLogs(batch);
    if (value.length <= this.config.producer.max_message_bytes) {
      out.push({ key, value });
      return;
    }
    const halves = halve(batch);
    if (halves) {
      this.pushSized(out, key, halves[0]);
      this.pushSized(out, key, halves[1]);
      return;
    }
    // One item alone exceeds what the brokers accept: retrying cannot help.
    this.ctx.metrics.dropped.inc({ component: this.ctx.id, signal: batch.signal, reason: 'too_large' }, countItems(batch));
    this.ctx.logger.error({ exporter: this.ctx.id, signal: batch.signal, bytes: value.length, limit: this.config.producer.max_message_bytes }, 'one item exceeds producer.max_message_bytes; dropped (raise the limit here and on the topic)');
  }

  private connect(): Promise<void> {
    if (this.connected) return Promise.resolve();
    this.connecting ??= this.producer
      .connect()
      .then(() => {
        this.connected = true;
      })
      .catch((err: Error) => {
        this.connected = false;
        if (err.name === 'KafkaJSBrokerNotFound' && this.config.producer.idempotent) {
          throw new Error(`kafka exporter ${this.ctx.id}: the cluster names a controller that is not one of its brokers, so the idempotent producer cannot get a producer id (${err.message}); fix the cluster or set producer.idempotent: false`);
        }
        throw err;
      })
      .finally(() => {
        this.connecting = undefined;
      });
    return this.connecting;
  }

  private withDeadline<T>(p: Promise<T>): Promise<T> {
    let timer: NodeJS.Timeout | undefined;
    const deadline = new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(new Error(`kafka did not acknowledge within ${this.config.timeout} ms (timeout)`)), this.config.timeout);
    });
    return Promise.race([p, deadline]).finally(() => clearTimeout(timer));
  }

  private async drain(): Promise<void> {
    this.sending = true;
    try {
      while (this.queue.length > 0) {
        const take: Pending[] = [];
        let bytes = 0;
        while (this.queue.length > 0 && (take.length === 0 || bytes + this.queue[0]!.bytes <= this.config.producer.flush_max_bytes)) {
          const p = this.queue.shift()!;
          bytes += p.bytes;
          take.push(p);
        }
        const byTopic = new Map<string, Message[]>();
        for (const p of take) {
          const list = byTopic.get(p.topic);
          if (list) for (const m of p.messages) list.push(m);
          else byTopic.set(p.topic, p.messages.slice());
        }
        const topicMessages: TopicMessages[] = [...byTopic].map(([topic, messages]) => ({ topic, messages }));
        try {
          await this.producer.sendBatch({
            topicMessages,
            acks: -1,
            timeout: this.config.timeout,
            compression: this.config.producer.compression === 'gzip' ? CompressionTypes.GZIP : CompressionTypes.None,
          });
          this.failing = false;
          for (const p of take) p.resolve();
        } catch (err) {
          this.failing = true;
          const e = new Error(`kafka did not accept the batch: ${(err as Error).message}`);
          for (const p of take) p.reject(e);
        }
      }
    } finally {
      this.sending = false;
    }
  }
}
