// Spans/s end to end through the scale-out path — edge (OTLP/HTTP →
// redaction → kafka exporter) → Kafka (librdkafka's mock cluster) → store
// (kafka receiver → ClickHouse, embedded) — beside the embedded path
// (OTLP/HTTP → redaction → batch → ClickHouse, embedded) in the same run,
// each Sluice a separate `sluice start` process, the load generator here.
// A run's rate is spans sent / time from the first request to the moment
// ClickHouse counts every span. All processes share this machine's cores,
// so the figures compare the paths; they are not capacity numbers.
// Prints figures, then one JSON line.
//   node --import tsx bench/kafka.ts [spans=100000] [concurrency=8]
// BENCH_PER_TRACE=false measures one Kafka message per export instead of one per trace.
import { spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { createInterface } from 'node:readline';
import { packagePath } from '../config/paths.js';
import type { Span, TraceBatch } from '../pipeline/model.js';
import { encodeTraces } from '../pipeline/otlp/encode-protobuf.js';
import { startKafkaMock } from '../test/helpers/kafka-mock.js';

const SPANS = Number(process.argv[2] ?? 100_000);
const CONCURRENCY = Number(process.argv[3] ?? 8);
const PER_REQUEST = 100;

interface Proc {
  child: ChildProcess;
  ports: { http?: number; query?: number; admin: number };
}

const dir = await mkdtemp(join(tmpdir(), 'sluice-bench-kafka-'));
const procs: ChildProcess[] = [];

async function start(name: string, yaml: string, role = 'all'): Promise<Proc> {
  const data = join(dir, name);
  const file = join(dir, `${name}.yaml`);
  await writeFile(file, yaml.replaceAll('DATA', data));
  const child = spawn(process.execPath, ['--import', 'tsx', packagePath('cli', 'sluice.ts'), 'start', '--config', file, '--role', role], {
    cwd: packagePath(),
    stdio: ['ignore', 'pipe', 'pipe'],
    env: { ...process.env, KAFKAJS_NO_PARTITIONER_WARNING: '1' },
  });
  procs.push(child);
  let stderr = '';
  child.stderr!.on('data', (d: Buffer) => {
    stderr = (stderr + d.toString()).slice(-4000);
    if (process.env.BENCH_DEBUG) process.stderr.write(`[${name}] ${d.toString()}`);
  });
  const ports = await new Promise<Proc['ports']>((resolve, reject) => {
    child.once('exit', (code) => reject(new Error(`${name} exited (${code}): ${stderr}`)));
    createInterface({ input: child.stdout! }).on('line', (line) => {
      if (line.includes('sluice started')) resolve((JSON.parse(line) as { ports: Proc['ports'] }).ports);
    });
  });
  return { child, ports };
}

function requests(n: number): Buffer[] {
  const out: Buffer[] = [];
  const now = BigInt(Date.now()) * 1_000_000n;
  for (let r = 0; r < n; r++) {
    const spans: Span[] = [];
    for (let t = 0; t < PER_REQUEST / 10; t++) {
      const traceId = randomBytes(16).toString('hex');
      for (let i = 0; i < 10; i++) {
        spans.push({
          traceId,
          spanId: randomBytes(8).toString('hex'),
          parentSpanId: '',
          traceState: '',
          flags: 1,
          name: 'gen_ai.chat',
          kind: 3,
          startTimeUnixNano: now,
          endTimeUnixNano: now + 1_000_000n,
          attributes: [
            { key: 'gen_ai.request.model', value: 'gpt-x' },
            { key: 'gen_ai.input.messages', value: `[{"role":"user","content":"summarise the ticket from bob${r}@example.com about invoice ${t}${i}"}]` },
            { key: 'gen_ai.usage.input_tokens', value: 812n },
          ],
          droppedAttributesCount: 0,
          events: [],
          droppedEventsCount: 0,
          links: [],
          droppedLinksCount: 0,
          status: { code: 0, message: '' },
        });
      }
    }
    const batch: TraceBatch = {
      signal: 'traces',
      resourceSpans: [{ resource: { attributes: [{ key: 'service.name', value: 'bench-agent' }], droppedAttributesCount: 0 }, scopeSpans: [{ scope: { name: 'bench', version: '1', attributes: [], droppedAttributesCount: 0 }, spans, schemaUrl: '' }], schemaUrl: '' }],
    };
    out.push(encodeTraces(batch));
  }
  return out;
}

async function count(query: number): Promise<number> {
  const res = await fetch(`http://127.0.0.1:${query}/?query=${encodeURIComponent('SELECT count() FROM otel_traces FORMAT TabSeparated')}`);
  return res.ok ? Number((await res.text()).trim()) : 0;
}

/** Sends every body (retrying 429/503 as an OTLP client would), then waits until ClickHouse counts them all. */
async function run(http: number, query: number, bodies: Buffer[]): Promise<{ spansPerSec: number; refused: number }> {
  const base = await count(query);
  let next = 0;
  let refused = 0;
  const t0 = performance.now();
  await Promise.all(
    Array.from({ length: CONCURRENCY }, async () => {
      for (let i = next++; i < bodies.length; i = next++) {
        for (;;) {
          const res = await fetch(`http://127.0.0.1:${http}/v1/traces`, { method: 'POST', headers: { 'content-type': 'application/x-protobuf' }, body: bodies[i] });
          await res.arrayBuffer();
          if (res.status === 200) break;
          refused++;
          await new Promise((r) => setTimeout(r, 50));
        }
      }
    }),
  );
  const want = base + bodies.length * PER_REQUEST;
  if (process.env.BENCH_DEBUG) console.error('acked after', Math.round(performance.now() - t0), 'ms');
  if (process.env.BENCH_DEBUG) console.error("sent", bodies.length, "refused", refused, "want", want, "have", await count(query));
  while ((await count(query)) < want) await new Promise((r) => setTimeout(r, 50));
  return { spansPerSec: (bodies.length * PER_REQUEST) / ((performance.now() - t0) / 1000), refused };
}

const common = `
service:
  data_dir: DATA
  shutdown_timeout: 5s
  telemetry: { logs: { level: info }, admin: { endpoint: "127.0.0.1:0" } }
`;

try {
  const bodies = requests(Math.ceil(SPANS / PER_REQUEST));
  const warm = requests(20);

  // Embedded: one process.
  const embedded = await start(
    'embedded',
    `
receivers: { otlp: { protocols: { http: { endpoint: "127.0.0.1:0" } } } }
processors:
  redaction: { packs: [pii, secrets] }
  batch: { send_batch_size: 8192, timeout: 200ms, queue_size: 200000 }
exporters:
  clickhouse: { endpoint: "embedded:DATA/clickhouse", query_endpoint: "127.0.0.1:0" }
${common}
  pipelines:
    traces: { receivers: [otlp], processors: [redaction, batch], exporters: [clickhouse] }
`,
  );
  await run(embedded.ports.http!, embedded.ports.query!, warm);
  const emb = await run(embedded.ports.http!, embedded.ports.query!, bodies);
  embedded.child.kill('SIGTERM');

  // Scale-out: edge and store processes, Kafka between them.
  const mock = await startKafkaMock();
  const brokers = mock.brokers.map((b) => `"${b}"`).join(', ');
  const [edge, store] = await Promise.all([
    start(
      'edge',
      `
receivers: { otlp: { protocols: { http: { endpoint: "127.0.0.1:0" } } } }
processors:
  redaction: { packs: [pii, secrets] }
exporters:
  kafka: { brokers: [${brokers}], partition_traces_by_id: ${process.env.BENCH_PER_TRACE ?? "true"}, producer: { idempotent: false } }
${common}
  pipelines:
    traces/edge: { receivers: [otlp], processors: [redaction], exporters: [kafka] }
`,
      'edge',
    ),
    start(
      'store',
      `
receivers:
  kafka: { brokers: [${brokers}], max_fetch_wait: 100ms }
exporters:
  clickhouse: { endpoint: "embedded:DATA/clickhouse", query_endpoint: "127.0.0.1:0" }
${common}
  pipelines:
    traces/store: { receivers: [kafka], exporters: [clickhouse] }
`,
      'store',
    ),
  ]);
  await run(edge.ports.http!, store.ports.query!, warm);
  const kafka = await run(edge.ports.http!, store.ports.query!, bodies);
  edge.child.kill('SIGTERM');
  store.child.kill('SIGTERM');
  await mock.stop();

  console.log(`spans: ${bodies.length * PER_REQUEST} in requests of ${PER_REQUEST}, ${CONCURRENCY} concurrent`);
  console.log(`embedded  (otlp → redaction → batch → clickhouse):               ${Math.round(emb.spansPerSec)} spans/s (${emb.refused} requests refused and retried)`);
  console.log(`kafka     (edge: otlp → redaction → kafka | store: kafka → clickhouse): ${Math.round(kafka.spansPerSec)} spans/s (${kafka.refused} refused and retried)`);
  console.log(`ratio kafka/embedded: ${(kafka.spansPerSec / emb.spansPerSec).toFixed(2)} (target ≥ 0.5)`);
  console.log(JSON.stringify({ kafka_spans_s: Math.round(kafka.spansPerSec), embedded_spans_s: Math.round(emb.spansPerSec) }));
} finally {
  for (const p of procs) p.kill('SIGKILL');
  await rm(dir, { recursive: true, force: true });
}
