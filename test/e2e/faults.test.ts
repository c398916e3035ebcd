// Faults under load: ClickHouse going away and coming back, Sluice killed
// with SIGKILL and restarted, SIGTERM with a store that never answers. The
// promise under test is invariant 4: every span acknowledged to a client is
// in ClickHouse in the end (with the disk queue, across a kill -9), clients
// are pushed back (503 + Retry-After) rather than silently dropped, and
// pending approvals survive a crash.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, readdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startClickHouseFacade, type ClickHouseFacade } from '../helpers/clickhouse-http-facade.js';
import { startTestService, type TestService } from '../helpers/service.js';
import { startCli, type StartedCli } from '../helpers/cli.js';

const TRACE = '5b8efff798038103d269b633813fc60c';
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

function spansJson(ids: string[], name: string, attrs: Array<{ key: string; value: { stringValue: string } }> = []) {
  return JSON.stringify({
    resourceSpans: [
      {
        resource: { attributes: [{ key: 'service.name', value: { stringValue: 'faults' } }, { key: 'deployment.environment', value: { stringValue: 'prod' } }] },
        scopeSpans: [
          {
            scope: { name: 'faults' },
            spans: ids.map((spanId) => ({ traceId: TRACE, spanId, name, kind: 1, startTimeUnixNano: '1700000000000000000', endTimeUnixNano: '1700000000000001000', attributes: attrs })),
          },
        ],
      },
    ],
  });
}

const spanId = (n: number) => n.toString(16).padStart(16, '0');

/**
 * A client that keeps sending requests of `perRequest` fresh spans until
 * stopped, the way an OTLP exporter does: a 503 is retried after
 * Retry-After, a refused connection after a pause. Records the ids the
 * server acknowledged with 200.
 */
function loadClient(url: () => string, name: string, perRequest: number, retryScale = 1, idBase = 0) {
  const acked = new Set<string>();
  const stats = { ok: 0, busy: 0, refused: 0, retryAfter: new Set<string>() };
  let stopped = false;
  let next = idBase + 1;
  const done = (async () => {
    while (!stopped) {
      const ids = Array.from({ length: perRequest }, () => spanId(next++));
      for (;;) {
        try {
          const res = await fetch(`${url()}/v1/traces`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: spansJson(ids, name) });
          await res.arrayBuffer();
          if (res.status === 200) {
            stats.ok++;
            for (const id of ids) acked.add(id);
            break;
          }
          assert.equal(res.status, 503, `only backpressure is expected, got ${res.status}`);
          stats.busy++;
          stats.retryAfter.add(res.headers.get('retry-after') ?? '');
          await sleep(Number(res.headers.get('retry-after') ?? 1) * 1000 * retryScale);
        } catch (err) {
          if (err instanceof assert.AssertionError) throw err;
          // Connection refused or reset (the process is down): the request may or may not have been taken; it was not acknowledged.
          stats.refused++;
          await sleep(50);
        }
        if (stopped) return;
      }
    }
  })();
  return {
    acked,
    stats,
    async stop() {
      stopped = true;
      await done;
    },
  };
}

async function chQuery(url: string, sql: string): Promise<string> {
  const res = await fetch(`${url}/?query=${encodeURIComponent(sql)}`);
  const text = await res.text();
  assert.equal(res.status, 200, `ClickHouse query failed: ${text.slice(0, 200)}`);
  return text.trim();
}

async function eventually(check: () => Promise<boolean>, what: string, timeoutMs = 60_000): Promise<void> {
  const end = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > end) assert.fail(`gave up waiting for ${what}`);
    await sleep(100);
  }
}

async function missingIds(queryUrl: string, name: string, acked: Set<string>): Promise<string[]> {
  const stored = new Set((await chQuery(queryUrl, `SELECT DISTINCT SpanId FROM otel_traces WHERE SpanName = '${name}' FORMAT TSV`)).split('\n').filter(Boolean));
  return [...acked].filter((id) => !stored.has(id));
}

describe('ClickHouse server unavailable under load, then back', () => {
  let dir: string;
  let facade: ClickHouseFacade;
  let service: TestService;
  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'sluice-faults-ch-'));
    facade = await startClickHouseFacade({ dataDir: join(dir, 'facade') });
    service = await startTestService({
      dataDir: join(dir, 'sluice'),
      exporters: { yaml: `  clickhouse:\n    endpoint: "${facade.url}"\n    compression: none\n    timeout: 5s`, ids: ['clickhouse'] },
      batch: '    timeout: 20ms\n    send_batch_size: 200\n    queue_size: 1000\n    retry_after: 1',
      logLevel: 'silent',
    });
  });
  after(async () => {
    await service?.cleanup();
    await facade?.close();
    await rm(dir, { recursive: true, force: true });
  });

  test('no acknowledged span is lost, clients are pushed back while the queue is full, and the backlog lands after', async () => {
    const OUTAGE_MS = Number(process.env.SLUICE_FAULT_OUTAGE_MS ?? 3000);
    const client = loadClient(() => `http://127.0.0.1:${service.ports.http}`, 'outage', 50, 0.2);
    await eventually(async () => client.stats.ok >= 5, 'traffic before the outage');
    await facade.stop();
    const okBefore = client.stats.ok;
    await sleep(OUTAGE_MS);
    const busyDuringOutage = client.stats.busy;
    await facade.start();
    await eventually(async () => client.stats.ok >= okBefore + 10, 'traffic after the outage');
    await client.stop();
    await service.flush();

    assert.ok(busyDuringOutage > 0, 'the full queue pushed back with 503 during the outage');
    assert.deepEqual([...client.stats.retryAfter], ['1'], 'every 503 carried Retry-After');
    assert.deepEqual(await missingIds(facade.url, 'outage', client.acked), [], 'every acknowledged span is in ClickHouse');
    const metrics = await (await fetch(`http://127.0.0.1:${service.ports.admin}/metrics`)).text();
    assert.doesNotMatch(metrics, /sluice_dropped_items_total\{[^}]*\} [1-9]/, 'nothing was dropped');
    assert.match(metrics, /sluice_exporter_send_failed_items_total\{exporter="clickhouse",signal="traces"\} [1-9]/, 'exports failed during the outage and were retried');
  });
});

function cliConfig(dir: string, extra: { batch?: string; approvals?: string; pipelines?: string } = {}): string {
  return `receivers:
  otlp:
    protocols:
      http: { endpoint: "127.0.0.1:0" }
processors:
  privileged: {}
  batch: ${extra.batch ?? '{ timeout: 500ms, send_batch_size: 400, queue: { type: disk } }'}
exporters:
  clickhouse: { endpoint: "embedded:${join(dir, 'ch')}", query_endpoint: "127.0.0.1:0" }
${extra.approvals ?? ''}
service:
  data_dir: "${dir}"
  shutdown_timeout: 10s
  telemetry: { admin: { endpoint: "127.0.0.1:0" } }
  api: { endpoint: "127.0.0.1:0" }
  pipelines:
${extra.pipelines ?? '    traces: { receivers: [otlp], processors: [batch], exporters: [clickhouse] }'}
`;
}

describe('kill -9 under load with the disk queue', () => {
  let dir: string;
  let sluice: StartedCli | undefined;
  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'sluice-faults-kill-'));
    await writeFile(join(dir, 'sluice.yaml'), cliConfig(dir));
  });
  after(async () => {
    if (sluice && sluice.child.exitCode === null) {
      sluice.child.kill('SIGKILL');
      await sluice.exited;
    }
    await rm(dir, { recursive: true, force: true });
  });

  test('every span acknowledged before SIGKILL is in ClickHouse after the restart', async () => {
    sluice = await startCli(['--config', join(dir, 'sluice.yaml')]);
    let base = `http://127.0.0.1:${sluice.ports.http}`;
    // Four concurrent clients, so that requests are mid-flight (some mid-fsync) when the kill lands.
    const clients = [0, 1, 2, 3].map((i) => loadClient(() => base, 'killed', 40, 1, i * 1_000_000));
    await eventually(async () => clients.every((c) => c.stats.ok >= 3), 'traffic before the kill');
    sluice.child.kill('SIGKILL');
    await sluice.exited;
    for (const c of clients) await c.stop();
    const acked = new Set<string>();
    for (const c of clients) for (const id of c.acked) acked.add(id);
    assert.ok(acked.size >= 4 * 3 * 40);
    const segments = await readdir(join(dir, 'queue', 'traces', 'batch'));
    assert.ok(segments.some((f) => f.endsWith('.seg')), 'the disk queue holds segments');

    sluice = await startCli(['--config', join(dir, 'sluice.yaml')]);
    const queryUrl = `http://127.0.0.1:${sluice.ports.query}`;
    await eventually(async () => (await missingIds(queryUrl, 'killed', acked)).length === 0, 'the replayed spans to land');
    assert.deepEqual(await missingIds(queryUrl, 'killed', acked), [], 'no acknowledged span is missing');
    sluice.child.kill('SIGTERM');
    assert.equal(await sluice.exited, 0);
  });
});

describe('kill -9 with a pending approval', () => {
  let dir: string;
  let sluice: StartedCli | undefined;
  const TOKEN = 'faults-reader-token-0123456789abcdef';
  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'sluice-faults-approval-'));
    await writeFile(
      join(dir, 'policy.yaml'),
      `version: 1
name: faults
rules:
  - name: export
    match: { action: export_table }
    effect: require_approval
    require_approval: { approvers: { groups: [data-owners] }, timeout: 1h }
`,
    );
    await writeFile(
      join(dir, 'sluice.yaml'),
      cliConfig(dir, {
        batch: '{ timeout: 20ms }',
        approvals: `approvals:
  policy_file: "${join(dir, 'policy.yaml')}"
  auth:
    tokens:
      - { name: reader, value: "${TOKEN}", scopes: [read] }`,
        pipelines: '    traces: { receivers: [otlp], processors: [privileged, batch], exporters: [clickhouse] }',
      }),
    );
  });
  after(async () => {
    if (sluice && sluice.child.exitCode === null) {
      sluice.child.kill('SIGKILL');
      await sluice.exited;
    }
    await rm(dir, { recursive: true, force: true });
  });

  test('a request opened before SIGKILL is still pending after the restart', async () => {
    sluice = await startCli(['--config', join(dir, 'sluice.yaml')]);
    const id = '0b7c3a52-7d1e-4a8e-9c61-4b2f3f1d2e10';
    const attrs = [
      { key: 'sluice.approval.id', value: { stringValue: id } },
      { key: 'sluice.approval.phase', value: { stringValue: 'request' } },
      { key: 'sluice.action.name', value: { stringValue: 'export_table' } },
      { key: 'enduser.id', value: { stringValue: 'dana@example.com' } },
    ];
    const res = await fetch(`http://127.0.0.1:${sluice.ports.http}/v1/traces`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: spansJson([spanId(1)], 'intent', attrs) });
    assert.equal(res.status, 200);
    const get = async (api: number) => fetch(`http://127.0.0.1:${api}/v1/approvals/${id}`, { headers: { authorization: `Bearer ${TOKEN}` } });
    assert.equal((await (await get(sluice.ports.api!)).json() as { state: string }).state, 'pending');
    sluice.child.kill('SIGKILL');
    await sluice.exited;

    sluice = await startCli(['--config', join(dir, 'sluice.yaml')]);
    const after_ = await get(sluice.ports.api!);
    assert.equal(after_.status, 200);
    const body = (await after_.json()) as { state: string; action: string };
    assert.equal(body.state, 'pending');
    assert.equal(body.action, 'export_table');
    sluice.child.kill('SIGTERM');
    assert.equal(await sluice.exited, 0);
  });
});

describe('SIGTERM with a store that never comes back', () => {
  let dir: string;
  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'sluice-faults-term-'));
  });
  after(() => rm(dir, { recursive: true, force: true }));

  test('exits 0 within shutdown_timeout (plus the hard stop) while the store is down', async () => {
    await writeFile(
      join(dir, 'sluice.yaml'),
      `receivers:
  otlp:
    protocols:
      http: { endpoint: "127.0.0.1:0" }
processors:
  batch: { timeout: 10ms, queue: { type: disk } }
exporters:
  clickhouse: { endpoint: "http://127.0.0.1:1", query_endpoint: "" }
service:
  data_dir: "${dir}"
  shutdown_timeout: 1500ms
  telemetry: { admin: { endpoint: "127.0.0.1:0" } }
  pipelines:
    traces: { receivers: [otlp], processors: [batch], exporters: [clickhouse] }
`,
    );
    const sluice = await startCli(['--config', join(dir, 'sluice.yaml')]);
    const res = await fetch(`http://127.0.0.1:${sluice.ports.http}/v1/traces`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: spansJson([spanId(1), spanId(2)], 'term') });
    assert.equal(res.status, 200);
    const t0 = Date.now();
    sluice.child.kill('SIGTERM');
    const code = await sluice.exited;
    const took = Date.now() - t0;
    assert.equal(code, 0);
    // Bounded by the deadline, with room for process start-up noise; a hang would take the 30 s default of retries.
    assert.ok(took < 1500 + 5000, `exited after ${took} ms`);
  });
});
