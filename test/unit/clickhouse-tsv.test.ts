// The TabSeparated serializers against the real (embedded chDB) engine:
// hostile strings in every String, Map and Array column come back byte for
// byte (compared as hex computed by ClickHouse, so no output format's own
// escaping can hide a difference), and the TSV body of a batch lands the same
// rows as the JSONEachRow body of the same batch.
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import fc from 'fast-check';
import { clickhouseConfigSchema } from '../../exporters/clickhouse/config.js';
import { ClickHouseExporter } from '../../exporters/clickhouse/exporter.js';
import { logsToNdjson } from '../../exporters/clickhouse/logs-ndjson.js';
import { LOGS_COLUMNS, logsToTsv } from '../../exporters/clickhouse/logs-tsv.js';
import { openClickHouse, type ClickHouseHandle } from '../../exporters/clickhouse/store.js';
import { tracesToNdjson } from '../../exporters/clickhouse/traces-ndjson.js';
import { TRACES_COLUMNS, tracesToTsv } from '../../exporters/clickhouse/traces-tsv.js';
import { tsvEscape } from '../../exporters/clickhouse/tsv-common.js';
import type { KeyValue, LogBatch, Span, TraceBatch } from '../../pipeline/model.js';
import { logBatch, testContext, traceBatch } from '../helpers/clickhouse-fixtures.js';
import { makeSpan } from '../helpers/model.js';

let dir: string;
let endpoint: string;
let ch: ClickHouseHandle;
let exporter: ClickHouseExporter;

before(async () => {
  dir = await mkdtemp(join(tmpdir(), 'sluice-ch-tsv-'));
  endpoint = `embedded:${join(dir, 'clickhouse')}`;
  ch = openClickHouse({ endpoint });
  exporter = new ClickHouseExporter(clickhouseConfigSchema.parse({ endpoint, database: 'tsv', query_endpoint: '' }), testContext());
  await exporter.start();
  await exporter.whenReady();
});

after(async () => {
  await exporter.shutdown();
  await ch.close();
  await rm(dir, { recursive: true, force: true });
});

const MEGABYTE = ("a\tb\nc\\d'e\"f{g}h[i]j,k:l\r\0\b\f ü 漢 🦀 \\N \\t ").repeat(Math.ceil((1 << 20) / 40)).slice(0, 1 << 20);

/** Every character class the TSV and quoted-string rules treat specially, and their neighbours. */
const HOSTILE = [
  '', ' ', '\t', '\n', '\r', '\r\n', '\\', '\\\\', '\\t', '\\n', '\\N', '\\0', '\\x41', "'", "''", "\\'", '"', '`',
  '\0', '\b', '\f', '\v', '\x01', '\x1b', '\x7f', '\u0085', '\u2028', '\u2029', '\ufeff',
  '{}', "{'a':'b'}", '[]', "['x']", '[1,2]', ',', ':', '=', 'a=b',
  'tab\tin the middle', 'ends with a backslash\\', "it's", 'naïve café', '漢字かな', '🦀🔥', 'e\u0301', '\\\t\\\n',
  MEGABYTE,
];

function hex(s: string): string {
  return Buffer.from(s, 'utf8').toString('hex').toUpperCase();
}

function span(i: number, name: string, attrs: KeyValue[], extra: Partial<Span> = {}): Span {
  return makeSpan({
    traceId: i.toString(16).padStart(32, '0'),
    spanId: i.toString(16).padStart(16, '0'),
    name,
    startTimeUnixNano: 1_700_000_000_000_000_000n + BigInt(i),
    endTimeUnixNano: 1_700_000_000_000_001_000n + BigInt(i),
    attributes: attrs,
    ...extra,
  });
}

function hostileBatch(strings: string[], idBase: number): TraceBatch {
  return {
    signal: 'traces',
    resourceSpans: [
      {
        resource: { attributes: [{ key: 'service.name', value: 'svc\t\\' }], droppedAttributesCount: 0 },
        schemaUrl: '',
        scopeSpans: [
          {
            scope: { name: "scope'\n", version: '\\0', attributes: [], droppedAttributesCount: 0 },
            schemaUrl: '',
            spans: strings.map((s, i) =>
              span(idBase + i, s, [{ key: s, value: s }, { key: 'k', value: s }], {
                traceState: s,
                status: { code: 2, message: s },
                events: [{ timeUnixNano: 1_700_000_000_000_000_500n, name: s, attributes: [{ key: s, value: s }], droppedAttributesCount: 0 }],
                links: [{ traceId: 'ab', spanId: 'cd', traceState: s, attributes: [{ key: s, value: s }], droppedAttributesCount: 0, flags: 0 }],
              }),
            ),
          },
        ],
      },
    ],
  };
}

type HexRow = { id: string; name: string; state: string; msg: string; keys: string[]; vals: string[]; ev_name: string[]; ev_keys: string[]; ev_vals: string[]; l_state: string[]; l_keys: string[]; l_vals: string[]; svc: string; scope: string; ver: string };

async function readHex(idBase: number, n: number): Promise<HexRow[]> {
  return ch.queryJson<HexRow>(`
    SELECT SpanId AS id, hex(SpanName) AS name, hex(TraceState) AS state, hex(StatusMessage) AS msg,
           arrayMap(k -> hex(k), mapKeys(SpanAttributes)) AS keys, arrayMap(v -> hex(v), mapValues(SpanAttributes)) AS vals,
           arrayMap(x -> hex(x), Events.Name) AS ev_name,
           arrayMap(k -> hex(k), mapKeys(Events.Attributes[1])) AS ev_keys, arrayMap(v -> hex(v), mapValues(Events.Attributes[1])) AS ev_vals,
           arrayMap(x -> hex(x), Links.TraceState) AS l_state,
           arrayMap(k -> hex(k), mapKeys(Links.Attributes[1])) AS l_keys, arrayMap(v -> hex(v), mapValues(Links.Attributes[1])) AS l_vals,
           hex(ServiceName) AS svc, hex(ScopeName) AS scope, hex(ScopeVersion) AS ver
    FROM tsv.otel_traces
    WHERE SpanId >= '${idBase.toString(16).padStart(16, '0')}' AND SpanId < '${(idBase + n).toString(16).padStart(16, '0')}'
    ORDER BY SpanId`);
}

function assertRoundTrip(rows: HexRow[], strings: string[], idBase: number): void {
  assert.equal(rows.length, strings.length);
  strings.forEach((s, i) => {
    const r = rows[i]!;
    const h = hex(s);
    const label = `string #${i} ${JSON.stringify(s.slice(0, 40))}`;
    assert.equal(r.id, (idBase + i).toString(16).padStart(16, '0'));
    assert.equal(r.name, h, label);
    assert.equal(r.state, h, label);
    assert.equal(r.msg, h, label);
    // Map keys come back sorted by insertion order; 'k' may equal s.
    const expected = s === 'k' ? [['6B', h]] : [[h, h], ['6B', h]];
    assert.deepEqual(r.keys.map((k, j) => [k, r.vals[j]]), expected, label);
    assert.deepEqual([r.ev_name, r.ev_keys, r.ev_vals, r.l_state, r.l_keys, r.l_vals], [[h], [h], [h], [h], [h], [h]], label);
    assert.deepEqual([r.svc, r.scope, r.ver], [hex('svc\t\\'), hex("scope'\n"), hex('\\0')]);
  });
}

test('tsvEscape: exactly \\\\ \\t \\n \\r \\0 \\b \\f and \\\' are escaped, everything else passes through', () => {
  assert.equal(tsvEscape('a\\b\tc\nd\re\0f\bg\fh\'i"j{k}'), "a\\\\b\\tc\\nd\\re\\0f\\bg\\fh\\'i\"j{k}");
  assert.equal(tsvEscape('plain ü 🦀'), 'plain ü 🦀');
  assert.equal(tsvEscape(''), '');
});

test('hostile strings in every String, Map and Array column read back byte-identical (1 MB included)', async () => {
  await exporter.export(hostileBatch(HOSTILE, 0x1000));
  assertRoundTrip(await readHex(0x1000, HOSTILE.length), HOSTILE, 0x1000);
});

test('random Unicode strings read back byte-identical (fast-check sample, one batch)', async () => {
  // 'binary' includes lone surrogates, which have no UTF-8 form: both the body
  // and hex() here encode them as U+FFFD, so they compare after that substitution.
  const arb = fc.oneof(
    fc.string({ unit: 'grapheme', maxLength: 60 }),
    fc.string({ unit: fc.constantFrom('\\', '\t', '\n', '\r', '\0', '\b', '\f', "'", '"', '{', '}', '[', ']', ',', ':', 'N', 'x', '0', 't', 'é'), maxLength: 30 }),
    fc.string({ unit: 'binary', maxLength: 40 }),
  );
  const strings = fc.sample(arb, { numRuns: 400, seed: 6 });
  await exporter.export(hostileBatch(strings, 0x10000));
  assertRoundTrip(await readHex(0x10000, strings.length), strings, 0x10000);
});

test('hostile log bodies, attributes and names read back byte-identical', async () => {
  const batch: LogBatch = {
    signal: 'logs',
    resourceLogs: [
      {
        resource: { attributes: [{ key: 'service.name', value: 'logs-tsv' }], droppedAttributesCount: 0 },
        schemaUrl: '\\\t',
        scopeLogs: [
          {
            scope: { name: '\n', version: "'", attributes: [{ key: '\t', value: '\\' }], droppedAttributesCount: 0 },
            schemaUrl: '{}',
            logRecords: HOSTILE.map((s, i) => ({
              timeUnixNano: 1_700_000_000_000_000_000n + BigInt(i),
              observedTimeUnixNano: 0n,
              severityNumber: 9,
              severityText: s.slice(0, 100),
              body: s,
              attributes: [{ key: s, value: s }],
              droppedAttributesCount: 0,
              flags: 1,
              traceId: '',
              spanId: '',
              eventName: s,
            })),
          },
        ],
      },
    ],
  };
  await exporter.export(batch);
  const rows = await ch.queryJson<Record<string, unknown>>(`
    SELECT hex(Body) AS body, hex(SeverityText) AS sev, hex(EventName) AS ev, arrayMap(k -> hex(k), mapKeys(LogAttributes)) AS keys,
           arrayMap(v -> hex(v), mapValues(LogAttributes)) AS vals, hex(ResourceSchemaUrl) AS rsu, hex(ScopeName) AS sn, hex(ScopeVersion) AS sv,
           hex(ScopeSchemaUrl) AS ssu, ScopeAttributes AS sa
    FROM tsv.otel_logs WHERE ServiceName = 'logs-tsv' ORDER BY Timestamp`);
  assert.equal(rows.length, HOSTILE.length);
  HOSTILE.forEach((s, i) => {
    const h = hex(s);
    assert.deepEqual(rows[i], { body: h, sev: hex(s.slice(0, 100)), ev: h, keys: [h], vals: [h], rsu: hex('\\\t'), sn: hex('\n'), sv: hex("'"), ssu: hex('{}'), sa: { '\t': '\\' } }, `log #${i}`);
  });
});

test('the TSV body lands the same rows as the JSONEachRow body of the same batch', async () => {
  await ch.command('CREATE TABLE tsv.t_json AS tsv.otel_traces');
  await ch.command('CREATE TABLE tsv.t_tsv AS tsv.otel_traces');
  await ch.command('CREATE TABLE tsv.l_json AS tsv.otel_logs');
  await ch.command('CREATE TABLE tsv.l_tsv AS tsv.otel_logs');
  await ch.insert('t_json', tracesToNdjson(traceBatch()).body, { database: 'tsv' });
  await ch.insert('t_tsv', tracesToTsv(traceBatch()).body, { database: 'tsv', format: 'TabSeparated', columns: TRACES_COLUMNS });
  await ch.insert('l_json', logsToNdjson(logBatch()).body, { database: 'tsv' });
  await ch.insert('l_tsv', logsToTsv(logBatch()).body, { database: 'tsv', format: 'TabSeparated', columns: LOGS_COLUMNS });
  const all = (t: string, key: string) =>
    ch.query(`SELECT * FROM tsv.${t} ORDER BY ${key} FORMAT TabSeparatedWithNames`).then((r) => r.body.toString('utf8'));
  const traces = await all('t_tsv', 'Timestamp, SpanId');
  assert.ok(traces.split('\n').length > 6);
  assert.equal(traces, await all('t_json', 'Timestamp, SpanId'));
  assert.equal(await all('l_tsv', 'Timestamp'), await all('l_json', 'Timestamp'));
});

test('the embedded engine starts with capped caches and a memory limit (EMBEDDED_ENGINE_ARGS)', async () => {
  const rows = await ch.queryJson<{ name: string; value: string }>(
    "SELECT name, value FROM system.server_settings WHERE name IN ('mark_cache_size', 'index_mark_cache_size', 'primary_index_cache_size', 'max_server_memory_usage') ORDER BY name",
  );
  assert.deepEqual(rows, [
    { name: 'index_mark_cache_size', value: '67108864' },
    { name: 'mark_cache_size', value: '268435456' },
    { name: 'max_server_memory_usage', value: '2147483648' },
    { name: 'primary_index_cache_size', value: '67108864' },
  ]);
});
