// Scale-out end to end, as separate processes (`sluice start --role edge` /
// `--role store`) against a real Kafka protocol peer (librdkafka's mock
// cluster): two edges take a steady stream of spans over OTLP/HTTP, two
// stores consume them in one group and write ClickHouse; one store is
// killed with SIGKILL mid-stream and restarted. Every span an edge
// acknowledged must land in ClickHouse (ids compared), and nothing
// unredacted may be in the topic.
//
// Each store writes its own embedded ClickHouse (chDB allows one data dir
// per process and no ClickHouse server runs here); the test unions what the
// two stores hold, through their read-only query ports.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { Kafka, logLevel } from 'kafkajs';
import type { Span, TraceBatch } from '../../pipeline/model.js';
import { encodeTraces } from '../../pipeline/otlp/encode-protobuf.js';
import { packagePath } from '../../config/paths.js';
import { startKafkaMock, type KafkaMock } from '../helpers/kafka-mock.js';

const EMAIL = 'alice.h7scaleout@example.com';
const AWS_KEY = 'AKIAIOSFODNN7H7EXMPL';

interface Proc {
  child: ChildProcess;
  ports: { http?: number; admin: number; query?: number };
  exited: Promise<void>;
}

let mock: KafkaMock;
let dir: string;
const procs = new Set<ChildProcess>();

function edgeYaml(brokers: string[], topic: string): string {
  return `
receivers:
  otlp:
    protocols:
      http: { endpoint: "127.0.0.1:0" }
processors:
  redaction: { packs: [pii, secrets] }
exporters:
  kafka:
    brokers: [${brokers.map((b) => `"${b}"`).join(', ')}]
    traces: { topic: ${topic} }
    timeout: 5s
    # The mock cluster reports controller 0 (none of its brokers): no producer id for an idempotent producer.
    producer: { idempotent: false }
service:
  data_dir: DATA
  shutdown_timeout: 5s
  telemetry: { logs: { level: info }, admin: { endpoint: "127.0.0.1:0" } }
  pipelines:
    traces/edge: { receivers: [otlp], processors: [redaction], exporters: [kafka] }
`;
}

function storeYaml(brokers: string[], topic: string, group: string): string {
  return `
receivers:
  kafka:
    brokers: [${brokers.map((b) => `"${b}"`).join(', ')}]
    traces: { topic: ${topic} }
    group_id: ${group}
    session_timeout: 6s
    heartbeat_interval: 1s
    max_fetch_wait: 100ms
    retry: { initial_interval: 50ms, max_interval: 1s }
exporters:
  clickhouse:
    endpoint: "embedded:DATA/clickhouse"
    query_endpoint: "127.0.0.1:0"
service:
  data_dir: DATA
  shutdown_timeout: 5s
  telemetry: { logs: { level: info }, admin: { endpoint: "127.0.0.1:0" } }
  pipelines:
    traces/store: { receivers: [kafka], exporters: [clickhouse] }
`;
}

async function startSluice(name: string, yaml: string, role: string): Promise<Proc> {
  const data = join(dir, name);
  const file = join(dir, `${name}.yaml`);
  await writeFile(file, yaml.replaceAll('DATA', data));
  const child = spawn(process.execPath, ['--import', 'tsx', packagePath('cli', 'sluice.ts'), 'start', '--config', file, '--role', role], {
    cwd: packagePath(),
    stdio: ['ignore', 'pipe', 'pipe'],
    env: { ...process.env, KAFKAJS_NO_PARTITIONER_WARNING: '1' },
  });
  procs.add(child);
  const exited = new Promise<void>((r) => child.once('exit', () => (procs.delete(child), r())));
  let stderr = '';
  child.stderr!.on('data', (d: Buffer) => (stderr = (stderr + d.toString()).slice(-4000)));
  const ports = await new Promise<Proc['ports']>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`${name} did not start within 60 s: ${stderr}`)), 60_000);
    child.once('exit', (code) => (clearTimeout(timer), reject(new Error(`${name} exited (${code}) before starting: ${stderr}`))));
    createInterface({ input: child.stdout! }).on('line', (line) => {
      if (!line.includes('sluice started')) return;
      clearTimeout(timer);
      resolve((JSON.parse(line) as { ports: Proc['ports'] }).ports);
    });
  });
  return { child, ports, exited };
}

function span(traceId: string, i: number): Span {
  return {
    traceId,
    spanId: randomBytes(8).toString('hex'),
    parentSpanId: '',
    traceState: '',
    flags: 1,
    name: `tool.call.${i}`,
    kind: 1,
    startTimeUnixNano: BigInt(Date.now()) * 1_000_000n,
    endTimeUnixNano: BigInt(Date.now()) * 1_000_000n + 1_000n,
    attributes: [
      { key: 'user.contact', value: `write to ${EMAIL} please` },
      { key: 'tool.output', value: `found key ${AWS_KEY} in env` },
    ],
    droppedAttributesCount: 0,
    events: [],
    droppedEventsCount: 0,
    links: [],
    droppedLinksCount: 0,
    status: { code: 0, message: '' },
  };
}

function request(): { body: Buffer; ids: string[] } {
  const spans: Span[] = [];
  for (let t = 0; t < 4; t++) {
    const traceId = randomBytes(16).toString('hex');
    for (let i = 0; i < 5; i++) spans.push(span(traceId, i));
  }
  const batch: TraceBatch = {
    signal: 'traces',
    resourceSpans: [
      {
        resource: { attributes: [{ key: 'service.name', value: 'agent-scaleout' }], droppedAttributesCount: 0 },
        scopeSpans: [{ scope: { name: 'test', version: '1', attributes: [], droppedAttributesCount: 0 }, spans, schemaUrl: '' }],
        schemaUrl: '',
      },
    ],
  };
  return { body: encodeTraces(batch), ids: spans.map((s) => s.spanId) };
}

async function storedIds(stores: Proc[]): Promise<{ ids: Set<string>; rows: number }> {
  const ids = new Set<string>();
  let rows = 0;
  for (const s of stores) {
    const res = await fetch(`http://127.0.0.1:${s.ports.query}/?query=${encodeURIComponent('SELECT SpanId FROM otel_traces FORMAT TabSeparated')}`);
    if (!res.ok) continue; // the table may not exist yet
    for (const line of (await res.text()).split('\n')) {
      if (!line) continue;
      ids.add(line);
      rows++;
    }
  }
  return { ids, rows };
}

before(async () => {
  mock = await startKafkaMock();
  dir = await mkdtemp(join(tmpdir(), 'sluice-kafka-e2e-'));
});

after(async () => {
  for (const c of procs) c.kill('SIGKILL');
  await mock?.stop();
  await rm(dir, { recursive: true, force: true });
});

test('two edges, two stores, one store SIGKILLed and restarted mid-stream: every acknowledged span lands, nothing unredacted in the topic', async () => {
  const topic = `spans_${randomBytes(4).toString('hex')}`;
  const group = `store_${randomBytes(4).toString('hex')}`;
  const [edgeA, edgeB, storeA0, storeB] = await Promise.all([
    startSluice('edge-a', edgeYaml(mock.brokers, topic), 'edge'),
    startSluice('edge-b', edgeYaml(mock.brokers, topic), 'edge'),
    startSluice('store-a', storeYaml(mock.brokers, topic, group), 'store'),
    startSluice('store-b', storeYaml(mock.brokers, topic, group), 'store'),
  ]);
  let storeA = storeA0;

  const acked = new Set<string>();
  let refused = 0;
  let sending = true;
  const edges = [edgeA, edgeB];
  const sender = (async () => {
    for (let n = 0; sending; n++) {
      const { body, ids } = request();
      const edge = edges[n % 2]!;
      const res = await fetch(`http://127.0.0.1:${edge.ports.http}/v1/traces`, { method: 'POST', headers: { 'content-type': 'application/x-protobuf' }, body });
      await res.arrayBuffer();
      if (res.status === 200) for (const id of ids) acked.add(id);
      else refused++;
      await new Promise((r) => setTimeout(r, 5));
    }
  })();
  const ackedAtLeast = async (n: number) => {
    while (acked.size < n) await new Promise((r) => setTimeout(r, 20));
  };

  await ackedAtLeast(400);
  // Mid-stream: store A dies without a chance to finish, commit or leave its group.
  storeA.child.kill('SIGKILL');
  await storeA.exited;
  await ackedAtLeast(acked.size + 400);
  storeA = await startSluice('store-a', storeYaml(mock.brokers, topic, group), 'store');
  await ackedAtLeast(acked.size + 200);
  sending = false;
  await sender;

  // Every acknowledged span, in the union of the two stores.
  let stored = await storedIds([storeA, storeB]);
  const deadline = Date.now() + 60_000;
  while ([...acked].some((id) => !stored.ids.has(id))) {
    if (Date.now() > deadline) break;
    await new Promise((r) => setTimeout(r, 250));
    stored = await storedIds([storeA, storeB]);
  }
  const missing = [...acked].filter((id) => !stored.ids.has(id));
  assert.equal(missing.length, 0, `${missing.length} of ${acked.size} acknowledged spans never reached ClickHouse`);
  assert.equal(refused, 0, 'the edges refused nothing while Kafka was up');
  assert.equal(stored.ids.size, acked.size, 'ClickHouse holds exactly the acknowledged spans (duplicates aside)');
  assert.ok(stored.rows >= stored.ids.size);

  // The topic holds only redacted data, as OTLP protobuf.
  const consumer = new Kafka({ brokers: mock.brokers, logLevel: logLevel.NOTHING }).consumer({ groupId: `raw-${randomBytes(4).toString('hex')}`, maxWaitTimeInMs: 100 });
  await consumer.connect();
  await consumer.subscribe({ topic, fromBeginning: true });
  let bytes = 0;
  let leaks = 0;
  let messages = 0;
  const { decodeTraces } = await import('../../pipeline/otlp/decode-protobuf.js');
  const inTopic = new Set<string>();
  await consumer.run({
    eachMessage: async ({ message }) => {
      messages++;
      const v = message.value!;
      bytes += v.length;
      if (v.includes(EMAIL) || v.includes(AWS_KEY)) leaks++;
      for (const rs of decodeTraces(v).batch.resourceSpans) for (const ss of rs.scopeSpans) for (const s of ss.spans) inTopic.add(s.spanId);
    },
  });
  while ([...acked].some((id) => !inTopic.has(id))) await new Promise((r) => setTimeout(r, 50));
  await consumer.disconnect();
  assert.ok(messages > 0 && bytes > 0);
  assert.equal(leaks, 0, 'an unredacted value reached Kafka');

  for (const p of [edgeA, edgeB, storeA, storeB]) p.child.kill('SIGTERM');
  await Promise.all([edgeA, edgeB, storeA, storeB].map((p) => p.exited));
});
