// The read-only ClickHouse HTTP interface over the embedded engine:
// @clickhouse/client and raw curl-style requests read through it, and every
// write, settings override and multi-statement is refused ClickHouse-style.
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { createClient, type ClickHouseClient } from '@clickhouse/client';
import { pino } from 'pino';
import { startQueryServer, type QueryServer } from '../../exporters/clickhouse/query-server.js';
import { openClickHouse, type ClickHouseHandle } from '../../exporters/clickhouse/store.js';

let dir: string;
let ch: ClickHouseHandle;
let server: QueryServer;
let authServer: QueryServer;
let client: ClickHouseClient;
let base: string;

before(async () => {
  dir = await mkdtemp(join(tmpdir(), 'sluice-ch-query-'));
  ch = openClickHouse({ endpoint: `embedded:${join(dir, 'clickhouse')}` });
  await ch.command('CREATE DATABASE IF NOT EXISTS q');
  await ch.command("CREATE TABLE q.t (id UInt32, name String, at DateTime64(9)) ENGINE = MergeTree ORDER BY id");
  await ch.insert('t', Buffer.from('{"id":1,"name":"a","at":"1700000000.000000001"}\n{"id":2,"name":"b\\tc","at":"1700000001.5"}\n'), { database: 'q' });
  const logger = pino({ level: 'silent' });
  server = await startQueryServer({ host: '127.0.0.1', port: 0, handle: ch, logger });
  authServer = await startQueryServer({ host: '127.0.0.1', port: 0, handle: ch, logger, auth: { username: 'grafana', password: 's3cret' } });
  base = `http://127.0.0.1:${server.port}`;
  client = createClient({ url: base, database: 'q' });
});

after(async () => {
  await client.close();
  await server.close();
  await authServer.close();
  await ch.close();
  await rm(dir, { recursive: true, force: true });
});

test('@clickhouse/client reads through it: JSONEachRow, JSON, TabSeparated, query params, settings', async () => {
  const rs = await client.query({ query: 'SELECT id, name FROM t ORDER BY id', format: 'JSONEachRow' });
  assert.deepEqual(await rs.json(), [{ id: 1, name: 'a' }, { id: 2, name: 'b\tc' }]);
  const js = await client.query({ query: 'SELECT count() AS n FROM t', format: 'JSON' });
  const body = await js.json<{ n: string | number }>();
  assert.equal(Number(body.data[0]!.n), 2);
  assert.deepEqual(body.meta, [{ name: 'n', type: 'UInt64' }]);
  const tsv = await client.query({ query: 'SELECT id, name FROM t ORDER BY id', format: 'TabSeparated' });
  assert.equal(await tsv.text(), '1\ta\n2\tb\\tc\n');
  const p = await client.query({ query: 'SELECT name FROM t WHERE id = {id:UInt32}', query_params: { id: 2 }, format: 'JSONEachRow' });
  assert.deepEqual(await p.json(), [{ name: 'b\tc' }]);
  const s = await client.query({ query: "SELECT getSetting('max_threads') AS m, getSetting('readonly') AS r", format: 'JSONEachRow', clickhouse_settings: { max_threads: 3 } });
  const [row] = await s.json<{ m: string | number; r: string | number }>();
  assert.deepEqual([Number(row!.m), Number(row!.r)], [3, 1], 'URL settings apply, and the query runs with readonly=1');
  assert.equal((await client.ping()).success, true);
});

test('settings sent to it do not persist in the shared engine session', async () => {
  await client.query({ query: 'SELECT 1', format: 'JSONEachRow', clickhouse_settings: { max_threads: 2 } }).then((r) => r.json());
  const [after] = await ch.queryJson<{ r: number }>("SELECT toUInt8(getSetting('readonly')) AS r");
  assert.equal(after?.r, 0);
  await ch.insert('t', Buffer.from('{"id":3,"name":"later","at":"1700000002"}\n'), { database: 'q' });
  const [n] = await ch.queryJson<{ n: string }>('SELECT toString(count()) AS n FROM q.t');
  assert.equal(n?.n, '3');
  await ch.command('ALTER TABLE q.t DELETE WHERE id = 3 SETTINGS mutations_sync = 1');
});

test('curl-style raw requests: GET ?query=, POST body, query+body, default_format, FORMAT clause, database, headers', async () => {
  const get = await fetch(`${base}/?query=${encodeURIComponent('SELECT id, name FROM q.t ORDER BY id')}`);
  assert.equal(get.status, 200);
  assert.equal(await get.text(), '1\ta\n2\tb\\tc\n');
  assert.equal(get.headers.get('x-clickhouse-format'), 'TabSeparated');
  assert.equal(get.headers.get('content-type'), 'text/tab-separated-values; charset=UTF-8');
  assert.ok(get.headers.get('x-clickhouse-query-id'));
  assert.ok(get.headers.get('x-clickhouse-timezone'));
  assert.ok(JSON.parse(get.headers.get('x-clickhouse-summary')!).read_rows !== undefined);

  const post = await fetch(`${base}/?database=q&default_format=JSONEachRow`, { method: 'POST', body: 'SELECT name FROM t WHERE id = 1' });
  assert.equal(await post.text(), '{"name":"a"}\n');
  assert.equal(post.headers.get('x-clickhouse-format'), 'JSONEachRow');

  const split = await fetch(`${base}/?query=${encodeURIComponent('SELECT name FROM q.t')}`, { method: 'POST', body: 'WHERE id = 2 FORMAT CSV' });
  assert.equal(await split.text(), '"b\tc"\n');
  assert.equal(split.headers.get('x-clickhouse-format'), 'CSV');
  assert.equal(split.headers.get('content-type'), 'text/csv; charset=UTF-8; header=absent');

  const hdr = await fetch(`${base}/`, {
    method: 'POST',
    body: 'SELECT count() AS n FROM t',
    headers: { 'X-ClickHouse-Database': 'q', 'X-ClickHouse-Format': 'JSONEachRow', 'Accept-Encoding': 'gzip' },
  });
  assert.equal(hdr.headers.get('x-clickhouse-format'), 'JSONEachRow');
  assert.equal(Number((JSON.parse(await hdr.text()) as { n: string | number }).n), 2);

  const gz = await fetch(`${base}/?enable_http_compression=1&query=${encodeURIComponent('SELECT 42 FORMAT TSV')}`, { headers: { 'Accept-Encoding': 'gzip' } });
  assert.equal(gz.headers.get('content-encoding'), 'gzip');
  // fetch decodes gzip itself; the header says the wire was compressed.
  assert.equal(await gz.text(), '42\n');

  for (const path of ['/ping', '/']) {
    const r = await fetch(`${base}${path}`);
    assert.equal(await r.text(), 'Ok.\n');
  }
  const missing = await fetch(`${base}/play`);
  assert.equal(missing.status, 404);
});

async function refused(sql: string, init: { params?: Record<string, string>; get?: boolean } = {}): Promise<{ status: number; code: string | null; text: string }> {
  const url = new URL(`${base}/`);
  for (const [k, v] of Object.entries(init.params ?? {})) url.searchParams.set(k, v);
  let res: Response;
  if (init.get) {
    url.searchParams.set('query', sql);
    res = await fetch(url);
  } else res = await fetch(url, { method: 'POST', body: sql });
  return { status: res.status, code: res.headers.get('x-clickhouse-exception-code'), text: await res.text() };
}

test('writes, DDL, SET, readonly=0 and multi-statements are refused with ClickHouse errors', async () => {
  const cases: Array<[string, Parameters<typeof refused>[1], string]> = [
    ["INSERT INTO q.t (id, name) VALUES (9, 'x')", {}, '164'],
    ['CREATE TABLE q.x (a UInt8) ENGINE = Memory', {}, '164'],
    ['DROP TABLE q.t', { get: true }, '164'],
    ['ALTER TABLE q.t DELETE WHERE 1', {}, '164'],
    ['TRUNCATE TABLE q.t', {}, '164'],
    ['SET readonly = 0', {}, '164'],
    ['SELECT 1 SETTINGS readonly = 0', {}, '164'],
    ["SELECT 1 SETTINGS readonly = '0'", {}, '164'],
    ['SELECT 1', { params: { readonly: '0' } }, '164'],
    ['SELECT 1', { params: { readonly: '2' } }, '164'],
    ['SELECT 1; DROP TABLE q.t', {}, '62'],
    ['SELECT 1; SELECT 2', {}, '62'],
    ["SELECT 1 INTO OUTFILE '" + join(dir, 'out.tsv') + "'", {}, '164'],
    ['/* SELECT */ DROP TABLE q.t', {}, '164'],
    ['   \n-- SELECT\nDROP TABLE q.t', {}, '164'],
    // Passes the statement check; the engine refuses it under readonly=1.
    ["SELECT * FROM file('/etc/hostname', 'LineAsString')", {}, '164'],
  ];
  for (const [sql, init, code] of cases) {
    const r = await refused(sql, init);
    assert.equal(r.code, code, `${sql}: ${r.text}`);
    assert.ok(r.status === 403 || r.status === 400, `${sql}: HTTP ${r.status}`);
    assert.match(r.text, new RegExp(`^Code: ${code}\\. DB::Exception: .+\\. \\([A-Z_]+\\) \\(version [^)]+\\)\\n$`), sql);
  }
  assert.equal(existsSync(join(dir, 'out.tsv')), false);
  const [n] = await ch.queryJson<{ n: string }>("SELECT toString(count()) AS n FROM system.tables WHERE database = 'q'");
  assert.equal(n?.n, '1', 'nothing was created or dropped');

  await assert.rejects(client.command({ query: 'DROP TABLE t' }), (err: Error & { code?: string; type?: string }) => err.code === '164' && err.type === 'READONLY');
  await assert.rejects(client.insert({ table: 't', values: [{ id: 5, name: 'x' }], format: 'JSONEachRow' }), (err: Error & { type?: string }) => err.type === 'READONLY');
  await assert.rejects(client.query({ query: 'SELEC 1' }), (err: Error & { type?: string }) => err.type === 'READONLY');
  await assert.rejects(client.query({ query: 'SELECT nope FROM t' }), (err: Error & { code?: string }) => err.code === '47');
});

test('credentials: X-ClickHouse-User/Key, basic auth, user/password params; wrong ones get 516', async () => {
  const url = `http://127.0.0.1:${authServer.port}/?query=${encodeURIComponent('SELECT 1')}`;
  const anon = await fetch(url);
  assert.equal(anon.status, 401);
  assert.equal(anon.headers.get('x-clickhouse-exception-code'), '516');
  assert.match(await anon.text(), /^Code: 516\. DB::Exception: .*\(AUTHENTICATION_FAILED\)/);
  const wrong = await fetch(url, { headers: { 'X-ClickHouse-User': 'grafana', 'X-ClickHouse-Key': 'nope' } });
  assert.equal(wrong.status, 401);
  for (const init of <Array<{ headers: Record<string, string> }>>[
    { headers: { 'X-ClickHouse-User': 'grafana', 'X-ClickHouse-Key': 's3cret' } },
    { headers: { Authorization: `Basic ${Buffer.from('grafana:s3cret').toString('base64')}` } },
  ]) {
    const r = await fetch(url, init);
    assert.equal(await r.text(), '1\n');
  }
  const params = await fetch(`${url}&user=grafana&password=s3cret`);
  assert.equal(await params.text(), '1\n');
  const c = createClient({ url: `http://127.0.0.1:${authServer.port}`, username: 'grafana', password: 's3cret' });
  try {
    const rs = await c.query({ query: 'SELECT 7 AS x', format: 'JSONEachRow' });
    assert.deepEqual(await rs.json(), [{ x: 7 }]);
  } finally {
    await c.close();
  }
});
