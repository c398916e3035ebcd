// Benchmark of the ClickHouse exporter's hot path: the TabSeparated
// serializer the exporter uses, the JSONEachRow one it replaced, and a naive
// "build row objects, JSON.stringify each"; then inserts into embedded chDB
// through the store worker (the exporter's TSV path, and the same batches as
// JSONEachRow for comparison), with the main thread's event-loop delay
// meanwhile. Prints figures, then one JSON line.
//   node --import tsx bench/clickhouse-insert.ts [spansPerBatch=10000] [batches=10]
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { monitorEventLoopDelay, performance } from 'node:perf_hooks';
import { pino } from 'pino';
import { clickhouseConfigSchema } from '../exporters/clickhouse/config.js';
import { ClickHouseExporter } from '../exporters/clickhouse/exporter.js';
import { nanosText } from '../exporters/clickhouse/ndjson-common.js';
import { spanKindName, statusCodeName, tracesToNdjson } from '../exporters/clickhouse/traces-ndjson.js';
import { tracesToTsv } from '../exporters/clickhouse/traces-tsv.js';
import { anyValueToString, stringAttr, type KeyValue, type Span, type TraceBatch } from '../pipeline/model.js';
import { SelfMetrics } from '../pipeline/telemetry/metrics.js';

const SPANS = Number(process.argv[2] ?? 10_000);
const BATCHES = Number(process.argv[3] ?? 10);
const PROMPT = 'Summarise the quarterly report for the finance team and draft an email to [REDACTED:email] about the variance in '.repeat(8);

function makeBatch(spans: number, seed: number): TraceBatch {
  const perResource = 500;
  const resourceSpans: TraceBatch['resourceSpans'] = [];
  for (let r = 0; r * perResource < spans; r++) {
    const list: Span[] = [];
    for (let i = 0; i < Math.min(perResource, spans - r * perResource); i++) {
      const n = seed * spans + r * perResource + i;
      const attrs: KeyValue[] = [
        { key: 'gen_ai.system', value: 'openai' },
        { key: 'gen_ai.request.model', value: 'gpt-4o' },
        { key: 'gen_ai.usage.input_tokens', value: BigInt(n % 4000) },
        { key: 'gen_ai.request.temperature', value: 0.2 },
        { key: 'gen_ai.prompt', value: PROMPT },
        { key: 'tool.name', value: 'sql.query' },
        { key: 'tool.args', value: ['SELECT 1', 42n, true] },
        { key: 'retry', value: false },
      ];
      list.push({
        traceId: n.toString(16).padStart(32, '0'),
        spanId: n.toString(16).padStart(16, '0'),
        parentSpanId: i === 0 ? '' : (n - 1).toString(16).padStart(16, '0'),
        traceState: '',
        flags: 1,
        name: i % 3 === 0 ? 'chat gpt-4o' : 'execute_tool sql.query',
        kind: (i % 5) + 1,
        startTimeUnixNano: 1_700_000_000_000_000_000n + BigInt(n) * 1_000_000n,
        endTimeUnixNano: 1_700_000_000_000_000_000n + BigInt(n) * 1_000_000n + 850_000n,
        attributes: attrs,
        droppedAttributesCount: 0,
        events: [{ timeUnixNano: 1_700_000_000_000_500_000n + BigInt(n), name: 'gen_ai.choice', attributes: [{ key: 'index', value: 0n }], droppedAttributesCount: 0 }],
        droppedEventsCount: 0,
        links: [],
        droppedLinksCount: 0,
        status: { code: i % 50 === 0 ? 2 : 0, message: '' },
      });
    }
    resourceSpans.push({
      resource: { attributes: [{ key: 'service.name', value: `agent-${r}` }, { key: 'host.name', value: 'bench' }, { key: 'process.pid', value: 4242n }], droppedAttributesCount: 0 },
      schemaUrl: '',
      scopeSpans: [{ scope: { name: 'sluice.sdk', version: '0.1.0', attributes: [], droppedAttributesCount: 0 }, schemaUrl: '', spans: list }],
    });
  }
  return { signal: 'traces', resourceSpans };
}

function attrsObject(attrs: KeyValue[]): Record<string, string> {
  const o: Record<string, string> = {};
  for (const kv of attrs) o[kv.key] = anyValueToString(kv.value);
  return o;
}

/** The obvious implementation: one plain object per row, JSON.stringify each. */
function naiveNdjson(batch: TraceBatch): string {
  const rows: object[] = [];
  for (const rs of batch.resourceSpans) {
    for (const ss of rs.scopeSpans) {
      for (const s of ss.spans) {
        rows.push({
          Timestamp: nanosText(s.startTimeUnixNano),
          TraceId: s.traceId,
          SpanId: s.spanId,
          ParentSpanId: s.parentSpanId,
          TraceState: s.traceState,
          SpanName: s.name,
          SpanKind: spanKindName(s.kind),
          ServiceName: stringAttr(rs.resource.attributes, 'service.name') ?? '',
          ResourceAttributes: attrsObject(rs.resource.attributes),
          ScopeName: ss.scope.name,
          ScopeVersion: ss.scope.version,
          SpanAttributes: attrsObject(s.attributes),
          Duration: (s.endTimeUnixNano - s.startTimeUnixNano).toString(),
          StatusCode: statusCodeName(s.status.code),
          StatusMessage: s.status.message,
          'Events.Timestamp': s.events.map((e) => nanosText(e.timeUnixNano)),
          'Events.Name': s.events.map((e) => e.name),
          'Events.Attributes': s.events.map((e) => attrsObject(e.attributes)),
          'Links.TraceId': s.links.map((l) => l.traceId),
          'Links.SpanId': s.links.map((l) => l.spanId),
          'Links.TraceState': s.links.map((l) => l.traceState),
          'Links.Attributes': s.links.map((l) => attrsObject(l.attributes)),
        });
      }
    }
  }
  return rows.map((r) => JSON.stringify(r)).join('\n') + '\n';
}

function measure(label: string, batch: TraceBatch, fn: (b: TraceBatch) => Buffer, rounds = 7): { rowsPerSec: number; mbPerSec: number; bytes: number } {
  fn(batch); // warm-up
  const times: number[] = [];
  let bytes = 0;
  for (let i = 0; i < rounds; i++) {
    const t0 = performance.now();
    bytes = fn(batch).length;
    times.push(performance.now() - t0);
  }
  times.sort((a, b) => a - b);
  const ms = times[Math.floor(times.length / 2)]!;
  const rowsPerSec = Math.round(SPANS / (ms / 1000));
  const mbPerSec = Math.round((bytes / 1e6 / (ms / 1000)) * 10) / 10;
  console.log(`${label.padEnd(34)} ${ms.toFixed(1).padStart(8)} ms/batch  ${rowsPerSec.toLocaleString('en').padStart(10)} rows/s  ${mbPerSec.toFixed(1).padStart(7)} MB/s  (${(bytes / SPANS).toFixed(0)} B/row)`);
  return { rowsPerSec, mbPerSec, bytes };
}

const batch = makeBatch(SPANS, 0);
console.log(`serialize ${SPANS} spans per batch (median of 7)`);
const fast = measure('sluice serializer (tracesToTsv)', batch, (b) => tracesToTsv(b).body);
const json = measure('JSONEachRow serializer (tracesToNdjson)', batch, (b) => tracesToNdjson(b).body);
const naive = measure('naive objects + JSON.stringify', batch, (b) => Buffer.from(naiveNdjson(b), 'utf8'));

const dir = await mkdtemp(join(tmpdir(), 'sluice-bench-ch-'));
const exporter = new ClickHouseExporter(
  clickhouseConfigSchema.parse({ endpoint: `embedded:${join(dir, 'ch')}`, query_endpoint: '' }),
  { id: 'clickhouse', logger: pino({ level: 'silent' }), metrics: new SelfMetrics({ defaultMetrics: false }), dataDir: dir },
);
await exporter.start();
await exporter.whenReady();
const batches = Array.from({ length: BATCHES }, (_, i) => makeBatch(SPANS, i + 1));
const jsonBatches = Array.from({ length: BATCHES }, (_, i) => makeBatch(SPANS, BATCHES + i + 1));
// The JSONEachRow comparison goes into a twin table (same DDL, same MV
// target), serialized in the timed section as the exporter did before TSV.
const ch = exporter.clickhouse!;
await ch.command('CREATE TABLE otel_traces_json AS otel_traces');
await ch.command(
  "CREATE MATERIALIZED VIEW otel_traces_json_mv TO otel_traces_trace_id_ts AS SELECT TraceId, min(Timestamp) AS Start, max(Timestamp) AS End FROM otel_traces_json WHERE TraceId != '' GROUP BY TraceId",
);
// Warm-up of both paths with full-size batches: the first inserts into a
// fresh engine are several times slower than the rest.
await exporter.export(makeBatch(SPANS, 10_000));
await ch.insert('otel_traces_json', tracesToNdjson(makeBatch(SPANS, 10_001)).body);
const loop = monitorEventLoopDelay({ resolution: 5 });
let insertMs = 0;
let jsonInsertMs = 0;
// Alternating batch by batch, so that load from other work and the
// engine's background merges fall on both formats alike.
for (let i = 0; i < BATCHES; i++) {
  loop.enable();
  const t0 = performance.now();
  await exporter.export(batches[i]!);
  insertMs += performance.now() - t0;
  loop.disable();
  const t1 = performance.now();
  await ch.insert('otel_traces_json', tracesToNdjson(jsonBatches[i]!).body);
  jsonInsertMs += performance.now() - t1;
}
const [count] = await ch.queryJson<{ n: string }>('SELECT toString(count()) AS n FROM otel_traces');
await exporter.shutdown();
await rm(dir, { recursive: true, force: true });
const insertRowsPerSec = Math.round((SPANS * BATCHES) / (insertMs / 1000));
const jsonInsertRowsPerSec = Math.round((SPANS * BATCHES) / (jsonInsertMs / 1000));
const maxStallMs = Math.round(loop.max / 1e6);
console.log(`\ninsert into embedded chDB via the store worker (TSV, the exporter): ${BATCHES} × ${SPANS} spans in ${insertMs.toFixed(0)} ms = ${insertRowsPerSec.toLocaleString('en')} rows/s (${count?.n} rows in table, warm-up included)`);
console.log(`the same batches as JSONEachRow: ${jsonInsertMs.toFixed(0)} ms = ${jsonInsertRowsPerSec.toLocaleString('en')} rows/s`);
console.log(`main-thread event loop during TSV inserts: max delay ${maxStallMs} ms, p99 ${Math.round(loop.percentile(99) / 1e6)} ms`);
console.log(
  JSON.stringify({
    bench: 'clickhouse-insert',
    spansPerBatch: SPANS,
    bytesPerRow: Math.round(fast.bytes / SPANS),
    serializerRowsPerSec: fast.rowsPerSec,
    serializerMBPerSec: fast.mbPerSec,
    jsonSerializerRowsPerSec: json.rowsPerSec,
    naiveRowsPerSec: naive.rowsPerSec,
    naiveMBPerSec: naive.mbPerSec,
    speedup: Math.round((fast.rowsPerSec / naive.rowsPerSec) * 100) / 100,
    insertRowsPerSec,
    jsonInsertRowsPerSec,
    insertSpeedupVsJson: Math.round((insertRowsPerSec / jsonInsertRowsPerSec) * 100) / 100,
    mainThreadMaxStallMs: maxStallMs,
  }),
);
