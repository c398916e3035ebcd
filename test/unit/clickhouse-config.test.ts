// Config defaults and validation of the ClickHouse exporter, the TTL clause,
// and the SQL lexing the read-only interface relies on (no engine needed).
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { clickhouseConfigSchema } from '../../exporters/clickhouse/config.js';
import { parseDuration } from '../../config/units.js';
import { nanosText } from '../../exporters/clickhouse/ndjson-common.js';
import { checkReadOnlyQuery } from '../../exporters/clickhouse/readonly-guard.js';
import { ttlExpr } from '../../exporters/clickhouse/schema.js';
import { parseEndpoint, withSettingsClause } from '../../exporters/clickhouse/store-backend.js';
import { formatOf, leadingKeyword, splitStatements } from '../../exporters/clickhouse/sql-text.js';

test('defaults match the README', () => {
  assert.deepEqual(clickhouseConfigSchema.parse({}), {
    endpoint: 'embedded:./data/clickhouse',
    database: 'default',
    username: 'default',
    password: '',
    traces_table_name: 'otel_traces',
    logs_table_name: 'otel_logs',
    create_schema: true,
    ttl: 0,
    table_engine: { name: 'MergeTree', params: '' },
    cluster_name: '',
    timeout: 30_000,
    compression: 'gzip',
    query_endpoint: '127.0.0.1:8123',
    query_username: '',
    query_password: '',
  });
});

test('invalid options are refused with the path and the fix', () => {
  const bad = (input: unknown, re: RegExp) => {
    const r = clickhouseConfigSchema.safeParse(input);
    assert.equal(r.success, false);
    assert.match(JSON.stringify(r.error!.issues), re);
  };
  bad({ endpoint: 'tcp://x:9000' }, /endpoint must be/);
  bad({ database: 'a-b; DROP' }, /plain ClickHouse identifier/);
  bad({ ttl: '3 days' }, /is not a duration[^}]*"path":\["ttl"\]/);
  bad({ timeout: '30' }, /is not a duration[^}]*"path":\["timeout"\]/);
  bad({ compresion: 'gzip' }, /compresion/);
});

test('durations and the TTL clause follow the collector', () => {
  assert.equal(parseDuration('72h'), 259_200_000);
  assert.equal(parseDuration('1h30m'), 5_400_000);
  assert.equal(parseDuration('500ms'), 500);
  assert.equal(parseDuration('0'), 0);
  assert.equal(ttlExpr(parseDuration('72h'), 'toDateTime(Timestamp)'), 'TTL toDateTime(Timestamp) + toIntervalDay(3)');
  assert.equal(ttlExpr(parseDuration('5h'), 'x'), 'TTL x + toIntervalHour(5)');
  assert.equal(ttlExpr(parseDuration('90m'), 'x'), 'TTL x + toIntervalMinute(90)');
  assert.equal(ttlExpr(parseDuration('45s'), 'x'), 'TTL x + toIntervalSecond(45)');
  assert.equal(ttlExpr(0, 'x'), '');
});

test('nanosecond timestamps as seconds.nanoseconds text', () => {
  assert.equal(nanosText(1_700_000_000_123_456_789n), '1700000000.123456789');
  assert.equal(nanosText(5n), '0.000000005');
  assert.equal(nanosText(0n), '0.000000000');
});

test('endpoints', () => {
  assert.equal(parseEndpoint('embedded::memory:').location, ':memory:');
  assert.equal(parseEndpoint('embedded:/var/lib/x').location, '/var/lib/x');
  assert.equal(parseEndpoint('https://ch:8443').kind, 'server');
  assert.throws(() => parseEndpoint('embedded:'), /needs a directory/);
  assert.throws(() => parseEndpoint('clickhouse://x'), /unsupported ClickHouse endpoint/);
});

test('SQL lexing ignores comments, strings and quoted names', () => {
  assert.deepEqual(splitStatements("SELECT ';' AS a; -- x;\n"), ["SELECT ';' AS a"]);
  assert.deepEqual(splitStatements('SELECT 1;;SELECT 2'), ['SELECT 1', 'SELECT 2']);
  assert.equal(leadingKeyword('/* DROP */ -- SELECT\n (select 1)'), 'SELECT');
  assert.equal(leadingKeyword('/* nested /* DROP */ still */ show tables'), 'SHOW');
  assert.equal(formatOf("SELECT 'FORMAT CSV' FORMAT JSONEachRow"), 'JSONEachRow');
  assert.equal(formatOf('SELECT 1 FORMAT CSV SETTINGS max_threads = 1'), 'CSV');
  assert.equal(formatOf("SELECT 'x FORMAT CSV'"), undefined);
  assert.equal(withSettingsClause('SELECT 1 -- c', { a: 1, b: "it's" }), "SELECT 1 -- c\nSETTINGS a = 1, b = 'it''s'");
  assert.throws(() => withSettingsClause('SELECT 1', { 'a=1, readonly': 0 }), /invalid setting name/);
});

test('read-only guard', () => {
  const ok = (sql: string) => assert.equal(checkReadOnlyQuery(sql, {}).ok, true, sql);
  const no = (sql: string, settings: Record<string, string> = {}) => assert.equal(checkReadOnlyQuery(sql, settings).ok, false, sql);
  ok('SELECT 1');
  ok('with x as (select 1) select * from x');
  ok("SELECT 'DROP TABLE t; INSERT' AS s;");
  ok('DESC t');
  ok('EXPLAIN SELECT 1');
  ok('SELECT 1 SETTINGS readonly = 1');
  no('SELECT 1', { readonly: '0' });
  no('SELECT 1 SETTINGS readonly=2');
  no('INSERT INTO t VALUES (1)');
  no('OPTIMIZE TABLE t');
  no('SYSTEM SHUTDOWN');
  no('KILL QUERY WHERE 1');
  no('GRANT ALL ON *.* TO x');
  no('SELECT 1; SELECT 2');
  no("SELECT 1 INTO OUTFILE 'x'");
  no('');
});
