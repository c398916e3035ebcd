// The kafka exporter and receiver against a real Kafka protocol peer
// (librdkafka's mock cluster via kcat): OTLP protobuf on the collector's
// topics, one message per trace keyed by trace id, offsets committed only
// after the pipeline resolved, malformed messages skipped and counted, and
// a Kafka outage surfacing as a failed export.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { Kafka, logLevel, Partitioners } from 'kafkajs';
import { pino } from 'pino';
import type { ComponentContext, Consumer } from '../../pipeline/component.js';
import { countItems, type Batch, type Span, type TraceBatch } from '../../pipeline/model.js';
import { decodeTraces } from '../../pipeline/otlp/decode-protobuf.js';
import { SelfMetrics } from '../../pipeline/telemetry/metrics.js';
import { kafkaExporterFactory } from '../../exporters/kafka/factory.js';
import { halve, splitTracesByTraceId } from '../../exporters/kafka/split.js';
import { kafkaReceiverFactory } from '../../pipeline/receivers/kafka/factory.js';
import { startKafkaMock, type KafkaMock } from '../helpers/kafka-mock.js';

const hex = (n: number) => randomBytes(n).toString('hex');

function span(traceId: string, name: string): Span {
  return {
    traceId,
    spanId: hex(8),
    parentSpanId: '',
    traceState: '',
    flags: 1,
    name,
    kind: 1,
    startTimeUnixNano: 1_700_000_000_000_000_000n,
    endTimeUnixNano: 1_700_000_000_500_000_000n,
    attributes: [
      { key: 'n', value: 7n },
      { key: 'ok', value: true },
    ],
    droppedAttributesCount: 0,
    events: [],
    droppedEventsCount: 0,
    links: [],
    droppedLinksCount: 0,
    status: { code: 0, message: '' },
  };
}

function traceBatch(traces: number, spansPerTrace: number): TraceBatch {
  const spans: Span[] = [];
  for (let t = 0; t < traces; t++) {
    const id = hex(16);
    for (let s = 0; s < spansPerTrace; s++) spans.push(span(id, `op-${t}-${s}`));
  }
  // Two resources, spans of one trace spread over both.
  const half = spans.length >>> 1;
  const scope = { name: 'test', version: '1', attributes: [], droppedAttributesCount: 0 };
  return {
    signal: 'traces',
    resourceSpans: [
      { resource: { attributes: [{ key: 'service.name', value: 'a' }], droppedAttributesCount: 0 }, scopeSpans: [{ scope, spans: spans.slice(0, half), schemaUrl: '' }], schemaUrl: '' },
      { resource: { attributes: [{ key: 'service.name', value: 'b' }], droppedAttributesCount: 0 }, scopeSpans: [{ scope, spans: spans.slice(half), schemaUrl: '' }], schemaUrl: '' },
    ],
  };
}

const spanIds = (b: Batch) => (b.signal === 'traces' ? b.resourceSpans.flatMap((rs) => rs.scopeSpans.flatMap((ss) => ss.spans.map((s) => s.spanId))) : []);

function ctx(id: string, metrics = new SelfMetrics({ defaultMetrics: false })): ComponentContext {
  return { id, logger: pino({ level: 'silent' }), metrics, dataDir: '/nonexistent' };
}

async function until(cond: () => boolean | Promise<boolean>, what: string, ms = 20_000): Promise<void> {
  const end = Date.now() + ms;
  while (!(await cond())) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 25));
  }
}

function collector(opts: { failFirst?: number } = {}): Consumer & { batches: Batch[]; calls: number } {
  const c = {
    batches: [] as Batch[],
    calls: 0,
    async consume(b: Batch) {
      c.calls++;
      if (c.calls <= (opts.failFirst ?? 0)) throw new Error('clickhouse unavailable');
      c.batches.push(b);
    },
  };
  return c;
}

describe('split by trace id', () => {
  test('every span lands in its trace group, under its own resource', () => {
    const b = traceBatch(5, 3);
    const groups = splitTracesByTraceId(b);
    assert.equal(groups.size, 5);
    let total = 0;
    for (const [id, g] of groups) {
      for (const rs of g.resourceSpans) for (const ss of rs.scopeSpans) for (const s of ss.spans) assert.equal(s.traceId, id);
      total += countItems(g);
    }
    assert.equal(total, 15);
    assert.deepEqual(new Set([...groups.values()].flatMap(spanIds)), new Set(spanIds(b)));
  });

  test('halve keeps every item and stops at one', () => {
    const b = traceBatch(1, 5);
    const [x, y] = halve(b)!;
    assert.equal(countItems(x) + countItems(y), 5);
    assert.deepEqual([...spanIds(x), ...spanIds(y)], spanIds(b));
    assert.equal(halve(traceBatch(1, 1)), undefined);
  });
});

describe('kafka exporter → mock cluster → kafka receiver', () => {
  let mock: KafkaMock;
  before(async () => {
    mock = await startKafkaMock();
  });
  after(async () => {
    await mock?.stop();
  });

  // The mock cluster reports controller 0 (none of its brokers): kafkajs cannot get a producer id from it.
  const producer = { idempotent: false };
  const exporterConfig = (topic: string, extra: Record<string, unknown> = {}) =>
    kafkaExporterFactory.configSchema.parse({ brokers: mock.brokers, traces: { topic }, timeout: '3s', producer, ...extra });
  const receiverConfig = (topic: string, group: string) =>
    kafkaReceiverFactory.configSchema.parse({ brokers: mock.brokers, traces: { topic }, group_id: group, max_fetch_wait: '50ms', session_timeout: '6s', heartbeat_interval: '500ms', retry: { initial_interval: '20ms', max_interval: '100ms' } });

  test('one OTLP protobuf message per trace, keyed by trace id; the receiver retries until the pipeline accepts, then commits', async () => {
    const topic = `t_${hex(4)}`;
    const exporter = kafkaExporterFactory.create(exporterConfig(topic), ctx('kafka'));
    await exporter.start!();
    const sent = [traceBatch(4, 3), traceBatch(6, 2)];
    await Promise.all(sent.map((b) => exporter.export(b)));
    assert.equal(exporter.ready!(), true);

    // Read the topic raw: each message decodes as an ExportTraceServiceRequest of one trace, keyed by it.
    const raw = new Kafka({ brokers: mock.brokers, logLevel: logLevel.NOTHING }).consumer({ groupId: `raw-${hex(4)}`, maxWaitTimeInMs: 50 });
    await raw.connect();
    await raw.subscribe({ topic, fromBeginning: true });
    const partitionOf = new Map<string, Set<number>>();
    let messages = 0;
    await raw.run({
      eachMessage: async ({ message, partition }) => {
        messages++;
        const key = message.key!.toString();
        const decoded = decodeTraces(message.value!);
        assert.equal(decoded.rejected, 0);
        for (const rs of decoded.batch.resourceSpans) for (const ss of rs.scopeSpans) for (const s of ss.spans) assert.equal(s.traceId, key);
        (partitionOf.get(key) ?? partitionOf.set(key, new Set()).get(key)!).add(partition);
      },
    });
    await until(() => messages >= 10, 'the raw consumer to read 10 messages');
    await raw.disconnect();
    assert.equal(messages, 10);
    for (const parts of partitionOf.values()) assert.equal(parts.size, 1, 'a trace stays in one partition');

    // The receiver: the pipeline fails twice, then accepts; nothing is skipped.
    const sink = collector({ failFirst: 2 });
    const metrics = new SelfMetrics({ defaultMetrics: false });
    const receiver = kafkaReceiverFactory.create(receiverConfig(topic, `g-${hex(4)}`), { traces: sink }, ctx('kafka', metrics));
    await receiver.start();
    await until(() => sink.batches.reduce((n, b) => n + countItems(b), 0) >= 24, 'all 24 spans to reach the pipeline');
    await receiver.shutdown();
    assert.ok(sink.calls >= 3);
    const got = sink.batches.flatMap(spanIds).sort();
    assert.deepEqual(got, sent.flatMap(spanIds).sort());
    // Decoded back to the same spans, attribute types included.
    const first = sink.batches[0]!;
    assert.equal(first.signal, 'traces');
    const s0 = (first as TraceBatch).resourceSpans[0]!.scopeSpans[0]!.spans[0]!;
    assert.deepEqual(s0.attributes, [
      { key: 'n', value: 7n },
      { key: 'ok', value: true },
    ]);
    assert.equal((await metrics.receiverAccepted.get()).values.find((v) => v.labels.signal === 'traces')?.value, 24);
    await exporter.shutdown!();
  });

  test('offsets are committed only after the pipeline resolved: a replica stopped while failing hands everything to the next', async () => {
    const topic = `t_${hex(4)}`;
    const group = `g-${hex(4)}`;
    const exporter = kafkaExporterFactory.create(exporterConfig(topic, { partition_traces_by_id: false }), ctx('kafka'));
    await exporter.start!();
    const sent = traceBatch(8, 2);
    await exporter.export(sent);

    const failing = collector({ failFirst: Infinity });
    const r1 = kafkaReceiverFactory.create(receiverConfig(topic, group), { traces: failing }, ctx('kafka'));
    await r1.start();
    await until(() => failing.calls >= 2, 'the first replica to try (and fail) twice');
    await r1.shutdown();

    const sink = collector();
    const r2 = kafkaReceiverFactory.create(receiverConfig(topic, group), { traces: sink }, ctx('kafka'));
    await r2.start();
    await until(() => sink.batches.reduce((n, b) => n + countItems(b), 0) >= 16, 'the second replica to receive all 16 spans');
    await r2.shutdown();
    assert.deepEqual(sink.batches.flatMap(spanIds).sort(), spanIds(sent).sort());

    // Committed once written: the group's offsets now cover the one message.
    const admin = new Kafka({ brokers: mock.brokers, logLevel: logLevel.NOTHING }).admin();
    await admin.connect();
    const offsets = await admin.fetchOffsets({ groupId: group, topics: [topic] });
    await admin.disconnect();
    const committed = offsets[0]!.partitions.reduce((n, p) => n + Math.max(0, Number(p.offset)), 0);
    assert.equal(committed, 1);
    await exporter.shutdown!();
  });

  test('a message that is not OTLP is counted and skipped; the partition moves on', async () => {
    const topic = `t_${hex(4)}`;
    const producer = new Kafka({ brokers: mock.brokers, logLevel: logLevel.NOTHING }).producer({ createPartitioner: Partitioners.DefaultPartitioner });
    await producer.connect();
    await producer.send({ topic, messages: [{ key: 'k', value: Buffer.from([0x0a, 0xff, 0xff, 0xff, 0xff, 0x0f, 0x01]) }] });
    const exporter = kafkaExporterFactory.create(exporterConfig(topic, { partition_traces_by_id: false }), ctx('kafka'));
    await exporter.start!();
    const good = traceBatch(1, 2);
    await exporter.export(good);
    await producer.disconnect();

    const metrics = new SelfMetrics({ defaultMetrics: false });
    const sink = collector();
    const r = kafkaReceiverFactory.create(receiverConfig(topic, `g-${hex(4)}`), { traces: sink }, ctx('kafka', metrics));
    await r.start();
    await until(() => sink.batches.length >= 1, 'the valid message to arrive');
    await until(async () => ((await metrics.receiverRefused.get()).values[0]?.value ?? 0) >= 1, 'the malformed message to be counted');
    await r.shutdown();
    assert.deepEqual(sink.batches.flatMap(spanIds).sort(), spanIds(good).sort());
    const refused = (await metrics.receiverRefused.get()).values;
    assert.deepEqual(refused.map((v) => [v.labels.reason, v.value]), [['malformed', 1]]);
    await exporter.shutdown!();
  });

  test('an idempotent producer against a cluster without a usable controller fails with advice', async () => {
    const exporter = kafkaExporterFactory.create(kafkaExporterFactory.configSchema.parse({ brokers: mock.brokers, traces: { topic: 'idem' }, timeout: '3s' }), ctx('kafka'));
    await exporter.start!();
    await assert.rejects(exporter.export(traceBatch(1, 1)), /producer\.idempotent: false/);
    assert.equal(exporter.ready!(), false);
    await exporter.shutdown!();
  });

  test('a Kafka outage fails the export (the edge answers 503) and the exporter reports not ready', async () => {
    const own = await startKafkaMock({ brokers: 1 });
    const exporter = kafkaExporterFactory.create(
      kafkaExporterFactory.configSchema.parse({ brokers: own.brokers, traces: { topic: 'outage' }, timeout: '1500ms', connect_timeout: '300ms', request_timeout: '500ms', producer: { ...producer, max_retries: 1 } }),
      ctx('kafka'),
    );
    await exporter.start!();
    await exporter.export(traceBatch(1, 1));
    await own.stop();
    await assert.rejects(exporter.export(traceBatch(1, 1)), /kafka/);
    assert.equal(exporter.ready!(), false);
    await exporter.shutdown!();
  });
});
