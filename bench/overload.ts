// Overload soak: a real `sluice start` (full pipeline, embedded ClickHouse)
// offered twice its sustainable rate for --minutes (default 10) by the
// separate-process load generator, open loop. Samples RSS and queue depth
// every 10 s; the excess must be pushed back (503 + Retry-After), RSS must
// stay flat, and every accepted span must be in ClickHouse at the end.
//   node --import tsx bench/overload.ts [--minutes=10] [--rate=SPANS_S] [--factor=2] [--per-request=500]
// Without --rate, the sustainable rate is measured first (closed loop, 20 s).
// Prints samples and figures, then one JSON line.
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { startLoadgen, type RunReport } from './lib/loadgen.js';
import { startSluice, waitFor } from './lib/sluice-process.js';

const arg = (name: string, def: string) => process.argv.find((a) => a.startsWith(`--${name}=`))?.split('=')[1] ?? def;
const MINUTES = Number(arg('minutes', '10'));
const FACTOR = Number(arg('factor', '2'));
const PER_REQUEST = Number(arg('per-request', '500'));
let rate = Number(arg('rate', '0'));

const dir = await mkdtemp(join(tmpdir(), 'sluice-bench-overload-'));
await writeFile(join(dir, 'policy.yaml'), 'version: 1\nname: bench\nrules:\n  - name: export\n    match: { action: export_table }\n    effect: require_approval\n    require_approval: { approvers: { groups: [data-owners] }, timeout: 15m }\n');
await writeFile(
  join(dir, 'sluice.yaml'),
  `receivers: { otlp: { protocols: { http: { endpoint: "127.0.0.1:0" } } } }
processors:
  redaction: {}
  privileged: {}
  batch: { send_batch_size: 8192, timeout: 200ms, queue_size: 200000 }
exporters:
  clickhouse: { endpoint: "embedded:${join(dir, 'clickhouse')}", query_endpoint: "127.0.0.1:0" }
approvals:
  policy_file: "${join(dir, 'policy.yaml')}"
service:
  data_dir: "${dir}"
  shutdown_timeout: 120s
  telemetry: { logs: { level: info }, admin: { endpoint: "127.0.0.1:0" } }
  api: { endpoint: "127.0.0.1:0" }
  pipelines:
    traces: { receivers: [otlp], processors: [redaction, privileged, batch], exporters: [clickhouse] }
`,
);
const sluice = await startSluice(join(dir, 'sluice.yaml'));
const lg = await startLoadgen({ url: `http://127.0.0.1:${sluice.ports.http}`, perRequest: PER_REQUEST, distinct: 32, seed: 5 });
try {
  if (!rate) {
    const exported0 = await sluice.metric('sluice_exporter_sent_items_total');
    const t0 = performance.now();
    await lg.run({ mode: 'closed', durationMs: 20_000, connections: 8 });
    await waitFor(async () => (await sluice.metric('sluice_queue_size')) === 0, 300_000, 'the queue to drain');
    rate = Math.round(((await sluice.metric('sluice_exporter_sent_items_total')) - exported0) / ((performance.now() - t0) / 1000));
    console.log(`sustainable rate (closed loop, 20 s, drained): ${rate.toLocaleString('en')} spans/s`);
  }
  const offered = rate * FACTOR;
  console.log(`offering ${offered.toLocaleString('en')} spans/s (${FACTOR}×) for ${MINUTES} min, open loop`);
  const samples: Array<{ t: number; rssMb: number; queue: number }> = [];
  const totals: RunReport[] = [];
  const t0 = performance.now();
  const accepted0 = await sluice.metric('sluice_receiver_accepted_items_total', { signal: 'traces' });
  // In 10 s slices, so that samples are taken while the load runs in the other process.
  for (let slice = 0; slice < MINUTES * 6; slice++) {
    const running = lg.run({ mode: 'open', durationMs: 10_000, connections: 512, rate: offered / PER_REQUEST });
    await new Promise((r) => setTimeout(r, 9_000));
    const { rssMb } = await sluice.rss();
    const queue = await sluice.metric('sluice_queue_size');
    const r = await running;
    totals.push(r);
    samples.push({ t: Math.round((performance.now() - t0) / 1000), rssMb, queue });
    console.log(`  t=${samples.at(-1)!.t}s rss ${rssMb} MiB, queue ${queue}, ${r.ok} ok, ${r.busy} pushed back, ${r.failed} failed, ${r.skipped} not sent, p99 ${r.latencyMs.p99} ms`);
  }
  const secs = (performance.now() - t0) / 1000;
  const ok = totals.reduce((s, r) => s + r.ok, 0);
  const busy = totals.reduce((s, r) => s + r.busy, 0);
  const failed = totals.reduce((s, r) => s + r.failed, 0);
  const busy503 = totals.reduce((s, r) => s + r.busy503, 0);
  const busy429 = totals.reduce((s, r) => s + r.busy429, 0);
  const retryAfter = totals.reduce((s, r) => s + r.retryAfter, 0);
  const accepted = (await sluice.metric('sluice_receiver_accepted_items_total', { signal: 'traces' })) - accepted0;
  await waitFor(async () => (await sluice.metric('sluice_queue_size')) === 0, 600_000, 'the queue to drain');
  const rows = Number(await sluice.query('SELECT count() FROM otel_traces'));
  const allAccepted = await sluice.metric('sluice_receiver_accepted_items_total', { signal: 'traces' });
  const dropped = await sluice.metric('sluice_dropped_items_total');
  const firstMinute = samples.filter((s) => s.t <= 60).map((s) => s.rssMb);
  const lastMinute = samples.filter((s) => s.t > secs - 60).map((s) => s.rssMb);
  const rssAfterFirstMinute = samples.filter((s) => s.t > 60).map((s) => s.rssMb);
  const avg = (xs: number[]) => Math.round(xs.reduce((a, b) => a + b, 0) / Math.max(1, xs.length));
  const peak = (await sluice.rss()).peakMb;
  console.log(`accepted ${Math.round(accepted / secs).toLocaleString('en')} spans/s; ${busy} of ${ok + busy + failed} requests pushed back (${busy503} × 503, ${busy429} × 429; ${retryAfter} with Retry-After), ${failed} failed`);
  console.log(`RSS: first minute avg ${avg(firstMinute)} MiB, last minute avg ${avg(lastMinute)} MiB, peak ${peak} MiB`);
  console.log(`ClickHouse rows ${rows.toLocaleString('en')} for ${allAccepted.toLocaleString('en')} accepted spans; dropped ${dropped}`);
  console.log(
    JSON.stringify({
      bench: 'overload',
      minutes: MINUTES,
      sustainable_spans_s: rate,
      offered_spans_s: offered,
      accepted_spans_s: Math.round(accepted / secs),
      pushed_back_pct: Math.round((busy / Math.max(1, ok + busy + failed)) * 1000) / 10,
      pushed_back: busy,
      pushed_back_503: busy503,
      pushed_back_429: busy429,
      pushed_back_with_retry_after: retryAfter,
      failed_requests: failed,
      rss_first_minute_mb: avg(firstMinute),
      rss_last_minute_mb: avg(lastMinute),
      rss_min_after_first_minute_mb: Math.min(...rssAfterFirstMinute),
      rss_max_after_first_minute_mb: Math.max(...rssAfterFirstMinute),
      peak_rss_mb: peak,
      rows_in_clickhouse: rows,
      accepted_spans: allAccepted,
      dropped,
    }),
  );
} finally {
  lg.close();
  await sluice.stop();
  await rm(dir, { recursive: true, force: true });
}
