// DDL of the tables the exporter writes, after the OpenTelemetry Collector's
// clickhouseexporter (internal/sqltemplates): same column names, types,
// codecs, indexes, partitioning and sort keys, so Grafana's ClickHouse
// datasource and queries written for the collector's tables work unchanged.
// The logs table is the collector's current layout (EventName, no
// TimestampTime column).

export interface SchemaOptions {
  database: string;
  tracesTable: string;
  logsTable: string;
  /** Milliseconds; 0 = no TTL clause. */
  ttlMs: number;
  tableEngine: { name: string; params: string };
  clusterName: string;
}

/**
 * Memory of the traces and logs tables' writes, which set the embedded
 * store's resident size:
 * - Parts under 100 MB (uncompressed) are Compact: one data file, not a file
 *   per column stream. A Wide part of the traces table has 57 column files
 *   (maps, nested columns, LowCardinality dictionaries), each written through
 *   a 1 MiB compression buffer and a 1 MiB file buffer, by every insert and
 *   merge that writes one. Paced inserts of 8,192 agent spans (60 in a row,
 *   merges included): peak RSS 748–756 MiB against 818–885 with the 10 MB
 *   default, the same disk (+0.8 %) and CPU within noise. All-Compact (1 GB) was
 *   worse (813–908): large Compact merges are horizontal.
 * - Wide parts merge column by column ("vertical" merge) at any size. The
 *   default, a horizontal merge below 131,072 rows, holds read and write
 *   buffers for every column of every source part at once: about 300 MB per
 *   merge of a few 8,192-span parts in chDB, against about 150 MB vertically.
 * (bench/RESULTS.md; bench/e2e.ts --mem-log shows the split.)
 */
const ROW_TABLE_SETTINGS = 'min_bytes_for_wide_part = 104857600, vertical_merge_algorithm_min_rows_to_activate = 1, vertical_merge_algorithm_min_columns_to_activate = 1';

/** Backtick-quotes an identifier, ClickHouse style. */
export function quoteIdent(name: string): string {
  return '`' + name.replace(/\\/g, '\\\\').replace(/`/g, '\\`') + '`';
}

function qualified(db: string, table: string): string {
  return `${quoteIdent(db)}.${quoteIdent(table)}`;
}

function onCluster(o: SchemaOptions): string {
  return o.clusterName ? `ON CLUSTER ${quoteIdent(o.clusterName)}` : '';
}

function engine(o: SchemaOptions): string {
  return `${o.tableEngine.name}(${o.tableEngine.params})`;
}

/** The collector's GenerateTTLExpr: the largest whole unit of the duration. */
export function ttlExpr(ttlMs: number, timeField: string): string {
  if (!(ttlMs > 0)) return '';
  const DAY = 86_400_000, HOUR = 3_600_000, MIN = 60_000;
  if (ttlMs % DAY === 0) return `TTL ${timeField} + toIntervalDay(${ttlMs / DAY})`;
  if (ttlMs % HOUR === 0) return `TTL ${timeField} + toIntervalHour(${ttlMs / HOUR})`;
  if (ttlMs % MIN === 0) return `TTL ${timeField} + toIntervalMinute(${ttlMs / MIN})`;
  return `TTL ${timeField} + toIntervalSecond(${Math.floor(ttlMs / 1000)})`;
}

export function createDatabaseSql(o: SchemaOptions): string | undefined {
  if (o.database === 'default') return undefined;
  return `CREATE DATABASE IF NOT EXISTS ${quoteIdent(o.database)} ${onCluster(o)}`;
}

export function tracesTableSql(o: SchemaOptions): string {
  return `CREATE TABLE IF NOT EXISTS ${qualified(o.database, o.tracesTable)} ${onCluster(o)} (
    Timestamp DateTime64(9) CODEC(Delta(8), ZSTD(1)),
    TraceId String CODEC(ZSTD(1)),
    SpanId String CODEC(ZSTD(1)),
    ParentSpanId String CODEC(ZSTD(1)),
    TraceState String CODEC(ZSTD(1)),
    SpanName LowCardinality(String) CODEC(ZSTD(1)),
    SpanKind LowCardinality(String) CODEC(ZSTD(1)),
    ServiceName LowCardinality(String) CODEC(ZSTD(1)),
    ResourceAttributes Map(LowCardinality(String), String) CODEC(ZSTD(1)),
    ScopeName String CODEC(ZSTD(1)),
    ScopeVersion String CODEC(ZSTD(1)),
    SpanAttributes Map(LowCardinality(String), String) CODEC(ZSTD(1)),
    Duration UInt64 CODEC(T64, ZSTD(1)),
    StatusCode LowCardinality(String) CODEC(ZSTD(1)),
    StatusMessage String CODEC(ZSTD(1)),
    Events Nested (
        Timestamp DateTime64(9),
        Name LowCardinality(String),
        Attributes Map(LowCardinality(String), String)
    ) CODEC(ZSTD(1)),
    Links Nested (
        TraceId String,
        SpanId String,
        TraceState String,
        Attributes Map(LowCardinality(String), String)
    ) CODEC(ZSTD(1)),
    ResourceAttributeItems Array(String) ALIAS arrayMap(kv -> concat(kv.1, '=', kv.2), CAST(ResourceAttributes, 'Array(Tuple(String, String))')),
    SpanAttributeItems Array(String) ALIAS arrayMap(kv -> concat(kv.1, '=', kv.2), CAST(SpanAttributes, 'Array(Tuple(String, String))')),
    INDEX idx_trace_id TraceId TYPE bloom_filter(0.001) GRANULARITY 1,
    INDEX idx_res_attr_key mapKeys(ResourceAttributes) TYPE bloom_filter(0.01) GRANULARITY 1,
    INDEX idx_res_attr_value mapValues(ResourceAttributes) TYPE bloom_filter(0.01) GRANULARITY 1,
    INDEX idx_span_attr_key mapKeys(SpanAttributes) TYPE bloom_filter(0.01) GRANULARITY 1,
    INDEX idx_span_attr_value mapValues(SpanAttributes) TYPE bloom_filter(0.01) GRANULARITY 1,
    INDEX idx_duration Duration TYPE minmax GRANULARITY 1,
    INDEX idx_lower_span_name lower(SpanName) TYPE tokenbf_v1(32768, 3, 0) GRANULARITY 8
) ENGINE = ${engine(o)}
PARTITION BY toDate(Timestamp)
PRIMARY KEY (ServiceName, SpanName, toDateTime(Timestamp))
ORDER BY (ServiceName, SpanName, toDateTime(Timestamp), Timestamp)
${ttlExpr(o.ttlMs, 'toDateTime(Timestamp)')}
SETTINGS index_granularity = 8192, ttl_only_drop_parts = 1, ${ROW_TABLE_SETTINGS}`;
}

/** Trace id → first/last span time, so a trace lookup can prune partitions. */
export function traceIdTsTableSql(o: SchemaOptions): string {
  return `CREATE TABLE IF NOT EXISTS ${qualified(o.database, `${o.tracesTable}_trace_id_ts`)} ${onCluster(o)} (
    TraceId String CODEC(ZSTD(1)),
    Start SimpleAggregateFunction(min, DateTime) CODEC(ZSTD(1)),
    End SimpleAggregateFunction(max, DateTime) CODEC(ZSTD(1))
) ENGINE = ${engine(o)}
PARTITION BY toStartOfWeek(Start)
ORDER BY (TraceId)
${ttlExpr(o.ttlMs, 'toDateTime(Start)')}
SETTINGS index_granularity = 8192, ttl_only_drop_parts = 1`;
}

export function traceIdTsViewSql(o: SchemaOptions): string {
  return `CREATE MATERIALIZED VIEW IF NOT EXISTS ${qualified(o.database, `${o.tracesTable}_trace_id_ts_mv`)} ${onCluster(o)}
TO ${qualified(o.database, `${o.tracesTable}_trace_id_ts`)}
AS SELECT
    TraceId,
    min(Timestamp) AS Start,
    max(Timestamp) AS End
FROM ${qualified(o.database, o.tracesTable)}
WHERE TraceId != ''
GROUP BY TraceId`;
}

export function logsTableSql(o: SchemaOptions): string {
  return `CREATE TABLE IF NOT EXISTS ${qualified(o.database, o.logsTable)} ${onCluster(o)} (
    Timestamp DateTime64(9) CODEC(Delta(8), ZSTD(1)),
    TraceId String CODEC(ZSTD(1)),
    SpanId String CODEC(ZSTD(1)),
    TraceFlags UInt8,
    SeverityText LowCardinality(String) CODEC(ZSTD(1)),
    SeverityNumber UInt8,
    ServiceName LowCardinality(String) CODEC(ZSTD(1)),
    Body String CODEC(ZSTD(1)),
    ResourceSchemaUrl LowCardinality(String) CODEC(ZSTD(1)),
    ResourceAttributes Map(LowCardinality(String), String) CODEC(ZSTD(1)),
    ScopeSchemaUrl LowCardinality(String) CODEC(ZSTD(1)),
    ScopeName String CODEC(ZSTD(1)),
    ScopeVersion LowCardinality(String) CODEC(ZSTD(1)),
    ScopeAttributes Map(LowCardinality(String), String) CODEC(ZSTD(1)),
    LogAttributes Map(LowCardinality(String), String) CODEC(ZSTD(1)),
    EventName String CODEC(ZSTD(1)),
    INDEX idx_trace_id TraceId TYPE bloom_filter(0.001) GRANULARITY 1,
    INDEX idx_res_attr_key mapKeys(ResourceAttributes) TYPE bloom_filter(0.01) GRANULARITY 1,
    INDEX idx_res_attr_value mapValues(ResourceAttributes) TYPE bloom_filter(0.01) GRANULARITY 1,
    INDEX idx_scope_attr_key mapKeys(ScopeAttributes) TYPE bloom_filter(0.01) GRANULARITY 1,
    INDEX idx_scope_attr_value mapValues(ScopeAttributes) TYPE bloom_filter(0.01) GRANULARITY 1,
    INDEX idx_log_attr_key mapKeys(LogAttributes) TYPE bloom_filter(0.01) GRANULARITY 1,
    INDEX idx_log_attr_value mapValues(LogAttributes) TYPE bloom_filter(0.01) GRANULARITY 1,
    INDEX idx_body Body TYPE tokenbf_v1(32768, 3, 0) GRANULARITY 8
) ENGINE = ${engine(o)}
PARTITION BY toDate(Timestamp)
PRIMARY KEY (ServiceName, toDateTime(Timestamp))
ORDER BY (ServiceName, toDateTime(Timestamp), Timestamp)
${ttlExpr(o.ttlMs, 'toDateTime(Timestamp)')}
SETTINGS index_granularity = 8192, ttl_only_drop_parts = 1, ${ROW_TABLE_SETTINGS}`;
}

/**
 * The traces and logs tables' memory settings (ROW_TABLE_SETTINGS) applied
 * to tables that exist already: CREATE … IF NOT EXISTS leaves a table made
 * by an older Sluice as it was. Metadata only, and idempotent. Run on the
 * embedded store, whose tables Sluice owns; a server's tables are the
 * operator's.
 */
export function settingsUpgradeStatements(o: SchemaOptions, signals: { traces: boolean; logs: boolean }): string[] {
  const out: string[] = [];
  if (signals.traces) out.push(`ALTER TABLE ${qualified(o.database, o.tracesTable)} MODIFY SETTING ${ROW_TABLE_SETTINGS}`);
  if (signals.logs) out.push(`ALTER TABLE ${qualified(o.database, o.logsTable)} MODIFY SETTING ${ROW_TABLE_SETTINGS}`);
  return out;
}

/** Every statement, in the order they must run, for the signals in use. */
export function schemaStatements(o: SchemaOptions, signals: { traces: boolean; logs: boolean }): string[] {
  const out: string[] = [];
  const db = createDatabaseSql(o);
  if (db) out.push(db);
  if (signals.traces) out.push(tracesTableSql(o), traceIdTsTableSql(o), traceIdTsViewSql(o));
  if (signals.logs) out.push(logsTableSql(o));
  return out;
}
