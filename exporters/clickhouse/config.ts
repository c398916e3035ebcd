// Options of the ClickHouse exporter. Names and defaults follow the
// OpenTelemetry Collector's clickhouseexporter where it has the same option,
// so a collector config block ports over unchanged.
import { z } from 'zod';
import { duration } from '../../config/units.js';

const IDENT = /^[A-Za-z_][A-Za-z0-9_]*$/;
const ident = (what: string) =>
  z.string().regex(IDENT, { message: `${what} must be a plain ClickHouse identifier (letters, digits, _; not starting with a digit)` });

export const clickhouseConfigSchema = z
  .object({
    /**
     * `embedded:<dir>` (chDB in this process, `embedded::memory:` for a
     * throwaway store) or `http(s)://host:8123` for a ClickHouse server.
     */
    endpoint: z
      .string()
      .default('embedded:./data/clickhouse')
      .refine((v) => v.startsWith('embedded:') || /^https?:\/\//.test(v), {
        message: 'endpoint must be "embedded:<dir>", "embedded::memory:" or an http(s):// URL of a ClickHouse server',
      }),
    database: ident('database').default('default'),
    username: z.string().default('default'),
    password: z.string().default(''),
    traces_table_name: ident('traces_table_name').default('otel_traces'),
    logs_table_name: ident('logs_table_name').default('otel_logs'),
    create_schema: z.boolean().default(true),
    /** Data older than this is dropped by a TTL clause; 0 keeps data forever. */
    ttl: duration('0'),
    table_engine: z
      .object({
        name: ident('table_engine.name').default('MergeTree'),
        params: z.string().default(''),
      })
      .default({ name: 'MergeTree', params: '' }),
    cluster_name: z.string().default(''),
    /** Time limit of one request to a ClickHouse server. */
    timeout: duration('30s'),
    /** HTTP compression of requests and responses (server endpoints only). */
    compression: z.enum(['none', 'gzip']).default('gzip'),
    /**
     * host:port of the read-only ClickHouse HTTP interface served while the
     * engine is embedded (Grafana, clickhouse-client over HTTP). '' disables.
     */
    query_endpoint: z.string().default('127.0.0.1:8123'),
    /** Credentials the read-only interface requires; no username = no auth. */
    query_username: z.string().default(''),
    query_password: z.string().default(''),
  })
  .strict();

export type ClickHouseExporterConfig = z.output<typeof clickhouseConfigSchema>;
export type ClickHouseExporterConfigInput = z.input<typeof clickhouseConfigSchema>;
