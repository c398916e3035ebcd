// The ClickHouse exporter against the real (embedded chDB) engine: the DDL
// matches the collector's tables column for column, the lookup MV fills,
// and batches built by hand land as the collector's exporter writes them.
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { clickhouseConfigSchema } from '../../exporters/clickhouse/config.js';
import { clickhouseExporterFactory } from '../../exporters/clickhouse/factory.js';
import type { ClickHouseExporter } from '../../exporters/clickhouse/exporter.js';
import { openClickHouse, type ClickHouseHandle } from '../../exporters/clickhouse/store.js';
import { EVERY_TYPE_STRINGS, logBatch, SPAN_A, SPAN_B, testContext, TRACE_A, TRACE_LINK, traceBatch } from '../helpers/clickhouse-fixtures.js';

let dir: string;
let endpoint: string;
let ch: ClickHouseHandle;

before(async () => {
  dir = await mkdtemp(join(tmpdir(), 'sluice-ch-exporter-'));
  endpoint = `embedded:${join(dir, 'clickhouse')}`;
  ch = openClickHouse({ endpoint });
});

after(async () => {
  await ch.close();
  await rm(dir, { recursive: true, force: true });
});

async function startExporter(overrides: Record<string, unknown>): Promise<ClickHouseExporter> {
  const config = clickhouseConfigSchema.parse({ endpoint, query_endpoint: '', ...overrides });
  const exporter = clickhouseExporterFactory.create(config, testContext()) as ClickHouseExporter;
  await exporter.start();
  assert.equal(exporter.ready(), true, 'schema created during start()');
  return exporter;
}

type Col = { name: string; type: string; default_kind: string };

async function columns(database: string, table: string): Promise<Col[]> {
  return ch.queryJson<Col>(
    `SELECT name, type, default_kind FROM system.columns WHERE database = '${database}' AND table = '${table}' ORDER BY position`,
  );
}

const MAP = 'Map(LowCardinality(String), String)';
const LC = 'LowCardinality(String)';

test('traces DDL: the collector otel_traces columns, types, keys and lookup table', async () => {
  const exporter = await startExporter({ database: 'ddl_db' });
  try {
    const expected: Array<[string, string, string?]> = [
      ['Timestamp', 'DateTime64(9)'], ['TraceId', 'String'], ['SpanId', 'String'], ['ParentSpanId', 'String'],
      ['TraceState', 'String'], ['SpanName', LC], ['SpanKind', LC], ['ServiceName', LC], ['ResourceAttributes', MAP],
      ['ScopeName', 'String'], ['ScopeVersion', 'String'], ['SpanAttributes', MAP], ['Duration', 'UInt64'],
      ['StatusCode', LC], ['StatusMessage', 'String'],
      ['Events.Timestamp', 'Array(DateTime64(9))'], ['Events.Name', `Array(${LC})`], ['Events.Attributes', `Array(${MAP})`],
      ['Links.TraceId', 'Array(String)'], ['Links.SpanId', 'Array(String)'], ['Links.TraceState', 'Array(String)'], ['Links.Attributes', `Array(${MAP})`],
      ['ResourceAttributeItems', 'Array(String)', 'ALIAS'], ['SpanAttributeItems', 'Array(String)', 'ALIAS'],
    ];
    assert.deepEqual(await columns('ddl_db', 'otel_traces'), expected.map(([name, type, kind]) => ({ name, type, default_kind: kind ?? '' })));
    assert.deepEqual(await columns('ddl_db', 'otel_traces_trace_id_ts'), [
      { name: 'TraceId', type: 'String', default_kind: '' },
      { name: 'Start', type: 'SimpleAggregateFunction(min, DateTime)', default_kind: '' },
      { name: 'End', type: 'SimpleAggregateFunction(max, DateTime)', default_kind: '' },
    ]);
    const [t] = await ch.queryJson<{ partition_key: string; primary_key: string; sorting_key: string; engine: string }>(
      "SELECT partition_key, primary_key, sorting_key, engine FROM system.tables WHERE database = 'ddl_db' AND name = 'otel_traces'",
    );
    assert.deepEqual(t, {
      partition_key: 'toDate(Timestamp)',
      primary_key: 'ServiceName, SpanName, toDateTime(Timestamp)',
      sorting_key: 'ServiceName, SpanName, toDateTime(Timestamp), Timestamp',
      engine: 'MergeTree',
    });
    const idx = await ch.queryJson<{ name: string; type: string }>(
      "SELECT name, type FROM system.data_skipping_indices WHERE database = 'ddl_db' AND table = 'otel_traces' ORDER BY name",
    );
    assert.deepEqual(idx.map((i) => `${i.name}:${i.type}`), [
      'idx_duration:minmax', 'idx_lower_span_name:tokenbf_v1', 'idx_res_attr_key:bloom_filter', 'idx_res_attr_value:bloom_filter',
      'idx_span_attr_key:bloom_filter', 'idx_span_attr_value:bloom_filter', 'idx_trace_id:bloom_filter',
    ]);
    const [mv] = await ch.queryJson<{ engine: string }>("SELECT engine FROM system.tables WHERE database = 'ddl_db' AND name = 'otel_traces_trace_id_ts_mv'");
    assert.equal(mv?.engine, 'MaterializedView');
  } finally {
    await exporter.shutdown();
  }
});

test('logs DDL: the collector current otel_logs layout (EventName, no TimestampTime)', async () => {
  const exporter = await startExporter({ database: 'ddl_db' });
  try {
    assert.deepEqual(await columns('ddl_db', 'otel_logs'), [
      ['Timestamp', 'DateTime64(9)'], ['TraceId', 'String'], ['SpanId', 'String'], ['TraceFlags', 'UInt8'], ['SeverityText', LC],
      ['SeverityNumber', 'UInt8'], ['ServiceName', LC], ['Body', 'String'], ['ResourceSchemaUrl', LC], ['ResourceAttributes', MAP],
      ['ScopeSchemaUrl', LC], ['ScopeName', 'String'], ['ScopeVersion', LC], ['ScopeAttributes', MAP], ['LogAttributes', MAP], ['EventName', 'String'],
    ].map(([name, type]) => ({ name, type, default_kind: '' })));
    const [t] = await ch.queryJson<{ partition_key: string; primary_key: string; sorting_key: string }>(
      "SELECT partition_key, primary_key, sorting_key FROM system.tables WHERE database = 'ddl_db' AND name = 'otel_logs'",
    );
    assert.deepEqual(t, {
      partition_key: 'toDate(Timestamp)',
      primary_key: 'ServiceName, toDateTime(Timestamp)',
      sorting_key: 'ServiceName, toDateTime(Timestamp), Timestamp',
    });
    const idx = await ch.queryJson<{ name: string }>("SELECT name FROM system.data_skipping_indices WHERE database = 'ddl_db' AND table = 'otel_logs' ORDER BY name");
    assert.deepEqual(idx.map((i) => i.name), [
      'idx_body', 'idx_log_attr_key', 'idx_log_attr_value', 'idx_res_attr_key', 'idx_res_attr_value', 'idx_scope_attr_key', 'idx_scope_attr_value', 'idx_trace_id',
    ]);
  } finally {
    await exporter.shutdown();
  }
});

test('table_engine, ttl and custom table names reach the DDL', async () => {
  const exporter = await startExporter({
    database: 'ttl_db',
    ttl: '72h',
    traces_table_name: 'spans',
    logs_table_name: 'records',
    table_engine: { name: 'ReplacingMergeTree', params: '' },
  });
  try {
    const rows = await ch.queryJson<{ name: string; engine: string; create_table_query: string }>(
      "SELECT name, engine, create_table_query FROM system.tables WHERE database = 'ttl_db' ORDER BY name",
    );
    assert.deepEqual(rows.map((r) => `${r.name}:${r.engine}`), [
      'records:ReplacingMergeTree', 'spans:ReplacingMergeTree', 'spans_trace_id_ts:ReplacingMergeTree', 'spans_trace_id_ts_mv:MaterializedView',
    ]);
    const ddl = Object.fromEntries(rows.map((r) => [r.name, r.create_table_query]));
    assert.match(ddl.spans!, /TTL toDateTime\(Timestamp\) \+ toIntervalDay\(3\)/);
    assert.match(ddl.records!, /TTL toDateTime\(Timestamp\) \+ toIntervalDay\(3\)/);
    assert.match(ddl.spans_trace_id_ts!, /TTL toDateTime\(Start\) \+ toIntervalDay\(3\)/);
  } finally {
    await exporter.shutdown();
  }
});

test('spans land as the collector maps them, and the MV fills the trace id lookup', async () => {
  const exporter = await startExporter({ database: 'map_db' });
  try {
    await exporter.export(traceBatch());
    const rows = await ch.queryJson<Record<string, unknown>>(`
      SELECT toString(toUnixTimestamp64Nano(Timestamp)) AS ts, TraceId, SpanId, ParentSpanId, TraceState, SpanName, SpanKind,
             ServiceName, ResourceAttributes, ScopeName, ScopeVersion, SpanAttributes, toString(Duration) AS dur, StatusCode, StatusMessage,
             arrayMap(t -> toString(toUnixTimestamp64Nano(t)), Events.Timestamp) AS ev_ts, Events.Name AS ev_name, Events.Attributes AS ev_attrs,
             Links.TraceId AS l_trace, Links.SpanId AS l_span, Links.TraceState AS l_state, Links.Attributes AS l_attrs
      FROM map_db.otel_traces ORDER BY Timestamp, SpanId`);
    assert.equal(rows.length, 6);
    const [a, b] = rows.filter((r) => r.ServiceName === 'checkout');
    assert.deepEqual(a, {
      ts: '1700000000123456789', TraceId: TRACE_A, SpanId: SPAN_A, ParentSpanId: '', TraceState: 'vendor=x', SpanName: 'POST /orders',
      SpanKind: 'Server', ServiceName: 'checkout', ResourceAttributes: { 'service.name': 'checkout', ...EVERY_TYPE_STRINGS },
      ScopeName: 'agent.tools', ScopeVersion: '1.2.3', SpanAttributes: EVERY_TYPE_STRINGS, dur: '1543211', StatusCode: 'Error', StatusMessage: 'boom',
      ev_ts: ['1700000000124000001', '1700000000124500000'], ev_name: ['exception', 'retry'], ev_attrs: [{ 'exception.type': 'Boom' }, { n: '2' }],
      l_trace: [TRACE_LINK], l_span: [SPAN_B], l_state: ['a=b'], l_attrs: [{ why: 'follows' }],
    });
    assert.deepEqual(
      [b!.SpanId, b!.ParentSpanId, b!.SpanKind, b!.StatusCode, b!.dur, b!.ev_ts, b!.l_trace],
      [SPAN_B, SPAN_A, 'Consumer', 'Ok', '0', [], []],
    );
    const others = rows.filter((r) => r.ServiceName === '');
    assert.deepEqual(others.map((r) => [r.SpanName, r.SpanKind, r.StatusCode, r.ScopeName]), [
      ['k0', 'Unspecified', 'Unset', ''], ['k1', 'Internal', 'Unset', ''], ['k3', 'Client', 'Unset', ''], ['k4', 'Producer', 'Unset', ''],
    ]);
    const lookup = await ch.queryJson<{ TraceId: string; s: string; e: string }>(
      'SELECT TraceId, toString(toUnixTimestamp(min(Start))) AS s, toString(toUnixTimestamp(max(End))) AS e FROM map_db.otel_traces_trace_id_ts GROUP BY TraceId ORDER BY TraceId',
    );
    assert.deepEqual(lookup, [
      { TraceId: TRACE_A, s: '1700000000', e: '1700000002' },
      { TraceId: '11111111111111111111111111111111', s: '1700000010', e: '1700000010' },
    ].sort((x, y) => x.TraceId.localeCompare(y.TraceId)));
  } finally {
    await exporter.shutdown();
  }
});

test('log records land as the collector maps them', async () => {
  const exporter = await startExporter({ database: 'map_db' });
  try {
    await exporter.export(logBatch());
    const rows = await ch.queryJson<Record<string, unknown>>(`
      SELECT toString(toUnixTimestamp64Nano(Timestamp)) AS ts, TraceId, SpanId, TraceFlags, SeverityText, SeverityNumber, ServiceName, Body,
             ResourceSchemaUrl, ResourceAttributes, ScopeSchemaUrl, ScopeName, ScopeVersion, ScopeAttributes, LogAttributes, EventName
      FROM map_db.otel_logs ORDER BY Timestamp`);
    const shared = {
      ServiceName: 'agent-7', ResourceSchemaUrl: 'https://opentelemetry.io/schemas/1.26.0',
      ResourceAttributes: { 'service.name': 'agent-7', 'deployment.environment': 'prod' },
      ScopeSchemaUrl: 'https://opentelemetry.io/schemas/1.25.0', ScopeName: 'sluice.sdk', ScopeVersion: '0.1.0', ScopeAttributes: { 'scope.attr': '5' },
    };
    assert.deepEqual(rows, [
      { ts: '1700000000000000001', TraceId: TRACE_A, SpanId: SPAN_A, TraceFlags: 1, SeverityText: 'INFO', SeverityNumber: 9, Body: 'tool call: search', ...shared, LogAttributes: EVERY_TYPE_STRINGS, EventName: 'tool.call' },
      { ts: '1700000006000000002', TraceId: '', SpanId: '', TraceFlags: 0, SeverityText: 'ERROR', SeverityNumber: 17, Body: '{"code":3,"msg":"failed"}', ...shared, LogAttributes: {}, EventName: '' },
      { ts: '1700000007000000000', TraceId: '', SpanId: '', TraceFlags: 1, SeverityText: '', SeverityNumber: 0, Body: '12.25', ...shared, LogAttributes: {}, EventName: '' },
    ]);
  } finally {
    await exporter.shutdown();
  }
});

test('one INSERT per batch: a batch of thousands of rows is one insert query', async () => {
  const exporter = await startExporter({ database: 'bulk_db' });
  try {
    const batch = traceBatch();
    const template = batch.resourceSpans[0]!.scopeSpans[0]!.spans[0]!;
    batch.resourceSpans[0]!.scopeSpans[0]!.spans = Array.from({ length: 5000 }, (_, i) => ({ ...template, spanId: i.toString(16).padStart(16, '0') }));
    batch.resourceSpans.length = 1;
    const handle = exporter.clickhouse!;
    const insert = handle.insert;
    let inserts = 0;
    (handle as { insert: typeof insert }).insert = (...args) => {
      inserts++;
      return insert(...args);
    };
    await exporter.export(batch);
    assert.equal(inserts, 1);
    const [n] = await ch.queryJson<{ n: string }>('SELECT toString(count()) AS n FROM bulk_db.otel_traces');
    assert.equal(n?.n, '5000');
    // One INSERT writes one part per partition; row-by-row would write thousands.
    const [p] = await ch.queryJson<{ parts: string }>(
      "SELECT toString(count()) AS parts FROM system.parts WHERE database = 'bulk_db' AND table = 'otel_traces' AND active",
    );
    assert.equal(p?.parts, '1');
  } finally {
    await exporter.shutdown();
  }
});

test("embedded tables made by an older Sluice get the memory settings (Compact small parts, vertical merges) at start; data stays", async () => {
  await ch.command('CREATE DATABASE IF NOT EXISTS old_db');
  // The traces and logs tables as an older Sluice made them: Wide from 10 MB, horizontal merges.
  await ch.command(`CREATE TABLE old_db.otel_traces (Timestamp DateTime64(9), TraceId String, SpanName LowCardinality(String), ServiceName LowCardinality(String))
    ENGINE = MergeTree ORDER BY (ServiceName, SpanName, Timestamp) SETTINGS index_granularity = 8192, ttl_only_drop_parts = 1`);
  await ch.command(`CREATE TABLE old_db.otel_logs (Timestamp DateTime64(9), ServiceName LowCardinality(String), Body String)
    ENGINE = MergeTree ORDER BY (ServiceName, Timestamp) SETTINGS index_granularity = 8192, ttl_only_drop_parts = 1`);
  await ch.command("INSERT INTO old_db.otel_logs VALUES (now64(9), 'svc', 'kept')");
  const exporter = await startExporter({ database: 'old_db' });
  try {
    for (const table of ['otel_traces', 'otel_logs']) {
      const ddl = (await ch.queryJson<{ statement: string }>(`SHOW CREATE TABLE old_db.${table} FORMAT JSONEachRow`))[0]!.statement;
      assert.match(ddl, /min_bytes_for_wide_part = 104857600/, table);
      assert.match(ddl, /vertical_merge_algorithm_min_rows_to_activate = 1/, table);
      assert.match(ddl, /index_granularity = 8192/, `${table}: the other settings stay`);
    }
    assert.deepEqual(await ch.queryJson<{ Body: string }>('SELECT Body FROM old_db.otel_logs'), [{ Body: 'kept' }]);
  } finally {
    await exporter.shutdown();
  }
});
