// End-to-end load benchmark: a real `sluice start` (OTLP/HTTP → redaction →
// privileged → batch queue → embedded ClickHouse) in one process, a load
// generator (bench/lib/loadgen.ts) with realistic agent traffic in another.
//   1. sustained rate: closed loop at full speed for --duration seconds;
//      spans/s = spans written to ClickHouse (exporter metric) over the time
//      from the first request of the window until the queue has drained.
//   2. latency: open loop at 50% and 90% of that rate; p50/p99 of each
//      request's time from its scheduled send to its 200.
//   3. baseline: the same pipeline without redaction and privileged, same run.
// Peak RSS is the Sluice process's VmHWM. Prints figures, then one JSON line.
//   node --import tsx bench/e2e.ts [--duration=20] [--connections=8] [--per-request=500] [--latency-seconds=10] [--queue=memory|disk] [--queue-size=200000] [--queue-max-bytes=32MiB] [--num-consumers=1] [--logs-every=5] [--prof=DIR]
// --prof passes --cpu-prof to the Sluice process: one profile per thread in DIR/full and DIR/baseline, written at exit.
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { startLoadgen, type RunReport } from './lib/loadgen.js';
import { memSampler, type MemSampler } from './lib/mem-sampler.js';
import { startSluice, waitFor, type SluiceProcess } from './lib/sluice-process.js';

const arg = (name: string, def: string) => process.argv.find((a) => a.startsWith(`--${name}=`))?.split('=')[1] ?? def;
const DURATION = Number(arg('duration', '20')) * 1000;
const CONNECTIONS = Number(arg('connections', '8'));
const PER_REQUEST = Number(arg('per-request', '500'));
const LATENCY_MS = Number(arg('latency-seconds', '10')) * 1000;
const QUEUE = arg('queue', 'memory');
const PROF = arg('prof', '');
const QUEUE_SIZE = Number(arg('queue-size', '200000'));
// Each pipeline's batch queue (the processor's default is 32MiB).
const QUEUE_MAX_BYTES = arg('queue-max-bytes', '32MiB');
const NUM_CONSUMERS = Number(arg('num-consumers', '1'));
// --mem-log=FILE: every thread's heap and Buffers (bench/lib/mem-probe.ts),
// the process's RSS split and chDB's own accounting, sampled through the
// full-pipeline run; the split at peak RSS is printed.
const MEM_LOG = arg('mem-log', '');
// 0: traces only. With logs, the traces and logs queues push back apart and
// the generator moves on to the next request after a 503, so the accepted
// mix drifts from the sent one; traces only gives a clean spans/s.
const LOGS_EVERY = Number(arg('logs-every', '5'));

function configYaml(dir: string, redact: boolean): string {
  return `
receivers:
  otlp:
    protocols:
      http: { endpoint: "127.0.0.1:0" }
processors:
  redaction: {}
  privileged: {}
  batch:
    send_batch_size: 8192
    timeout: 200ms
    queue_size: ${QUEUE_SIZE}
    num_consumers: ${NUM_CONSUMERS}
    queue_max_bytes: ${QUEUE_MAX_BYTES}
    queue: { type: ${QUEUE} }
exporters:
  clickhouse:
    endpoint: "embedded:${join(dir, 'clickhouse')}"
    query_endpoint: "127.0.0.1:0"
approvals:
  policy_file: "${join(dir, 'policy.yaml')}"
  auth:
    tokens:
      - { name: agent, value: "bench-agent-token-0123456789abcdef", scopes: [ingest, request] }
service:
  data_dir: "${dir}"
  shutdown_timeout: 60s
  telemetry: { logs: { level: info }, admin: { endpoint: "127.0.0.1:0" } }
  api: { endpoint: "127.0.0.1:0" }
  pipelines:
    traces: { receivers: [otlp], processors: [${redact ? 'redaction, privileged, ' : ''}batch], exporters: [clickhouse] }
    logs: { receivers: [otlp], processors: [${redact ? 'redaction, ' : ''}batch], exporters: [clickhouse] }
`;
}

const POLICY = `version: 1
name: bench
rules:
  - name: export-table-prod
    match: { action: export_table, resource_attributes: { deployment.environment: prod } }
    effect: require_approval
    require_approval: { approvers: { groups: [data-owners] }, timeout: 15m }
`;

interface Variant {
  spansPerSec: number;
  logsPerSec: number;
  cores: number;
  max: RunReport;
  half?: RunReport;
  ninety?: RunReport;
  peakRssMb: number;
  rowsInClickHouse: number;
  acceptedSpans: number;
}

const exported = (s: SluiceProcess, signal: string) => s.metric('sluice_exporter_sent_items_total', { signal });
const accepted = (s: SluiceProcess, signal: string) => s.metric('sluice_receiver_accepted_items_total', { signal });

async function drained(s: SluiceProcess): Promise<void> {
  await waitFor(async () => (await s.metric('sluice_queue_size')) === 0, 300_000, 'the queue to drain');
}

async function runVariant(redact: boolean): Promise<Variant> {
  const dir = await mkdtemp(join(tmpdir(), 'sluice-bench-e2e-'));
  await writeFile(join(dir, 'policy.yaml'), POLICY);
  await writeFile(join(dir, 'sluice.yaml'), configYaml(dir, redact));
  const nodeArgs = PROF ? ['--cpu-prof', `--cpu-prof-dir=${join(PROF, redact ? 'full' : 'baseline')}`] : [];
  const memLog = MEM_LOG ? (redact ? MEM_LOG : `${MEM_LOG}.baseline`) : '';
  // tsx first: the probe is TypeScript, and nodeArgs come before Sluice's own --import tsx.
  if (memLog) nodeArgs.push('--import', 'tsx', '--import', new URL('./lib/mem-probe.ts', import.meta.url).href);
  const sluice = await startSluice(join(dir, 'sluice.yaml'), memLog ? { SLUICE_MEM_PROBE: memLog } : {}, nodeArgs);
  let sampler: MemSampler | undefined;
  const lg = await startLoadgen({ url: `http://127.0.0.1:${sluice.ports.http}`, perRequest: PER_REQUEST, distinct: 32, seed: 42 });
  bytesPerSpan = lg.bytesPerSpan;
  const label = redact ? 'full pipeline' : 'baseline (no redaction, no detection)';
  try {
    // Warm-up: JIT, ClickHouse parts, worker start.
    await lg.run({ mode: 'closed', durationMs: 3000, connections: CONNECTIONS, logsEvery: LOGS_EVERY });
    await drained(sluice);
    if (memLog) sampler = memSampler(sluice, memLog);

    const spans0 = await exported(sluice, 'traces');
    const logs0 = await exported(sluice, 'logs');
    const t0 = performance.now();
    const cpu0 = await sluice.cpuSeconds();
    const max = await lg.run({ mode: 'closed', durationMs: DURATION, connections: CONNECTIONS, logsEvery: LOGS_EVERY });
    const acceptedNow = await accepted(sluice, 'traces');
    await waitFor(async () => (await exported(sluice, 'traces')) >= acceptedNow, 300_000, 'ClickHouse to catch up');
    await drained(sluice);
    const secs = (performance.now() - t0) / 1000;
    const cores = Math.round(((await sluice.cpuSeconds()) - cpu0) / secs * 100) / 100;
    const spansPerSec = Math.round(((await exported(sluice, 'traces')) - spans0) / secs);
    const logsPerSec = Math.round(((await exported(sluice, 'logs')) - logs0) / secs);
    console.log(`${label}: ${spansPerSec.toLocaleString('en')} spans/s + ${logsPerSec.toLocaleString('en')} log records/s into ClickHouse (${max.ok} requests ok, ${max.busy} pushed back, ${max.failed} failed; client-side accepted ${Math.round(max.spans / (max.elapsedMs / 1000)).toLocaleString('en')} spans/s; Sluice used ${cores} cores)`);

    const out: Variant = { spansPerSec, logsPerSec, cores, max, peakRssMb: 0, rowsInClickHouse: 0, acceptedSpans: 0 };
    if (redact) {
      const spansPerReq = LOGS_EVERY ? PER_REQUEST * ((LOGS_EVERY - 1) / LOGS_EVERY) : PER_REQUEST;
      for (const share of [0.5, 0.9] as const) {
        const rate = (share * spansPerSec) / spansPerReq;
        const r = await lg.run({ mode: 'open', durationMs: LATENCY_MS, connections: 256, rate, logsEvery: LOGS_EVERY });
        await drained(sluice);
        console.log(
          `  at ${share * 100}% (${Math.round(rate * spansPerReq).toLocaleString('en')} spans/s offered, ${rate.toFixed(1)} req/s): ingest latency p50 ${r.latencyMs.p50} ms, p90 ${r.latencyMs.p90} ms, p99 ${r.latencyMs.p99} ms, max ${r.latencyMs.max} ms (${r.ok} ok, ${r.busy} pushed back, ${r.skipped} not sent)`,
        );
        if (share === 0.5) out.half = r;
        else out.ninety = r;
      }
    }
    out.acceptedSpans = await accepted(sluice, 'traces');
    out.rowsInClickHouse = Number(await sluice.query('SELECT count() FROM otel_traces'));
    out.peakRssMb = (await sluice.rss()).peakMb;
    if (sampler) console.log(await sampler.stop());
    console.log(`  peak RSS ${out.peakRssMb} MiB; ${out.rowsInClickHouse.toLocaleString('en')} rows in otel_traces for ${out.acceptedSpans.toLocaleString('en')} accepted spans`);
    if (out.rowsInClickHouse < out.acceptedSpans) console.log('  WARNING: fewer rows than accepted spans');
    return out;
  } finally {
    lg.close();
    const code = await sluice.stop();
    if (code !== 0) console.log(`  sluice exited with ${code}`);
    await rm(dir, { recursive: true, force: true });
  }
}

console.log(`bench e2e: ${PER_REQUEST} items per request over OTLP/HTTP protobuf, ${CONNECTIONS} connections, ${DURATION / 1000} s at full rate, ${LOGS_EVERY ? `every ${LOGS_EVERY}th request logs` : 'traces only'}, queue ${QUEUE}`);
let bytesPerSpan = 0;
const full = await runVariant(true);
const baseline = await runVariant(false);
const cost = Math.round((1 - full.spansPerSec / baseline.spansPerSec) * 1000) / 10;
console.log(`redaction + detection cost: ${cost}% of the baseline rate`);
console.log(
  JSON.stringify({
    bench: 'e2e',
    spans_s: full.spansPerSec,
    logs_s: full.logsPerSec,
    baseline_spans_s: baseline.spansPerSec,
    sluice_cores: full.cores,
    bytes_per_span: bytesPerSpan,
    redaction_cost_pct: cost,
    p50_ms_half_load: full.half?.latencyMs.p50,
    p99_ms_half_load: full.half?.latencyMs.p99,
    p50_ms_90pct_load: full.ninety?.latencyMs.p50,
    p99_ms_90pct_load: full.ninety?.latencyMs.p99,
    peak_rss_mb: full.peakRssMb,
    baseline_peak_rss_mb: baseline.peakRssMb,
    queue: QUEUE,
    queue_size: QUEUE_SIZE,
    queue_max_bytes: QUEUE_MAX_BYTES,
    num_consumers: NUM_CONSUMERS,
    per_request: PER_REQUEST,
    connections: CONNECTIONS,
  }),
);
