// Server mode: the exporter writes to a ClickHouse server over HTTP (here a
// loopback facade speaking the ClickHouse HTTP protocol, backed by chDB in a
// child process). A server that is down makes inserts reject, and the same
// batch succeeds once it is back; startup with the server down does not
// crash and the schema is created when it comes up.
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { clickhouseConfigSchema } from '../../exporters/clickhouse/config.js';
import { ClickHouseExporter } from '../../exporters/clickhouse/exporter.js';
import { openClickHouse, type ClickHouseHandle } from '../../exporters/clickhouse/store.js';
import { EVERY_TYPE_STRINGS, logBatch, SPAN_A, testContext, TRACE_A, traceBatch } from '../helpers/clickhouse-fixtures.js';
import { startClickHouseFacade, type ClickHouseFacade } from '../helpers/clickhouse-http-facade.js';

const auth = { username: 'sluice', password: 'p@ss:word' };
let dir: string;
let facade: ClickHouseFacade;
let reader: ClickHouseHandle;

before(async () => {
  dir = await mkdtemp(join(tmpdir(), 'sluice-ch-server-'));
  facade = await startClickHouseFacade({ dataDir: join(dir, 'server'), auth });
  reader = openClickHouse({ endpoint: facade.url, ...auth, compression: 'none' });
});

after(async () => {
  await reader.close();
  await facade.close();
  await rm(dir, { recursive: true, force: true });
});

function exporterFor(database: string, extra: Record<string, unknown> = {}): ClickHouseExporter {
  const config = clickhouseConfigSchema.parse({ endpoint: facade.url, ...auth, database, query_endpoint: '', ...extra });
  return new ClickHouseExporter(config, testContext());
}

async function count(table: string): Promise<number> {
  const [r] = await reader.queryJson<{ n: string }>(`SELECT toString(count()) AS n FROM ${table}`);
  return Number(r?.n);
}

test('writes the same rows through a ClickHouse server over HTTP (gzip, credentials, database)', async () => {
  const exporter = exporterFor('srv');
  await exporter.start();
  await exporter.whenReady();
  try {
    assert.equal(exporter.ready(), true);
    assert.equal(exporter.queryPort(), undefined, 'no read-only interface in front of a server');
    await exporter.export(traceBatch());
    await exporter.export(logBatch());
    const [span] = await reader.queryJson<Record<string, unknown>>(
      `SELECT toString(toUnixTimestamp64Nano(Timestamp)) AS ts, SpanKind, StatusCode, SpanAttributes, toString(Duration) AS dur FROM otel_traces WHERE SpanId = '${SPAN_A}'`,
      { database: 'srv' },
    );
    assert.deepEqual(span, { ts: '1700000000123456789', SpanKind: 'Server', StatusCode: 'Error', SpanAttributes: EVERY_TYPE_STRINGS, dur: '1543211' });
    const logs = await reader.queryJson<{ TraceId: string; TraceFlags: number }>('SELECT TraceId, TraceFlags FROM srv.otel_logs ORDER BY Timestamp');
    assert.deepEqual(logs.map((l) => [l.TraceId, l.TraceFlags]), [[TRACE_A, 1], ['', 0], ['', 1]]);
    assert.equal(await count('srv.otel_traces_trace_id_ts'), 2);
    const stats = await facade.stats();
    assert.equal(stats.inserts, 2, 'one INSERT per batch');
    assert.ok(stats.gzipBodies >= 2, 'request bodies are gzip-compressed by default');
  } finally {
    await exporter.shutdown();
  }
});

test('server down: the insert rejects without row data in the error; back: the same batch lands', async () => {
  const exporter = exporterFor('retry');
  await exporter.start();
  await exporter.whenReady();
  try {
    const batch = traceBatch();
    await facade.stop();
    await assert.rejects(exporter.export(batch), (err: Error) => {
      assert.match(err.message, /insert of 6 spans into retry\.otel_traces failed/);
      assert.doesNotMatch(err.message, /POST \/orders|checkout|héllo/);
      return true;
    });
    await facade.start();
    await exporter.export(batch);
    assert.equal(await count('retry.otel_traces'), 6);
  } finally {
    await exporter.shutdown();
  }
});

test('startup with the server down: no crash, export fails until the schema exists, then succeeds', async () => {
  await facade.stop();
  const exporter = exporterFor('late');
  try {
    await exporter.start();
    assert.equal(exporter.ready(), false);
    await assert.rejects(exporter.export(logBatch()), /do not exist yet/);
    await facade.start();
    await exporter.whenReady();
    assert.equal(exporter.ready(), true);
    await exporter.export(logBatch());
    assert.equal(await count('late.otel_logs'), 3);
  } finally {
    await facade.start().catch(() => undefined);
    await exporter.shutdown();
  }
});

test('wrong credentials are an error naming the cause, not a crash', async () => {
  const bad = openClickHouse({ endpoint: facade.url, username: 'sluice', password: 'wrong', compression: 'none' });
  try {
    await assert.rejects(bad.query('SELECT 1'), (err: Error & { type?: string }) => err.type === 'AUTHENTICATION_FAILED');
    assert.equal(await bad.ping(), true, '/ping needs no credentials, as on a ClickHouse server');
  } finally {
    await bad.close();
  }
});
