// Options of the ClickHouse exporter. Names and defaults follow the
// OpenTelemetry Collector's clickhouseexporter where it has the same option,
// so a collector config block ports over unchanged.
import { z } from 'zod';

const IDENT = /^[A-Za-z_][A-Za-z0-9_]*$/;
const ident = (what: string) =>
  z.string().regex(IDENT, { message: `${what} must be a plain ClickHouse identifier (letters, digits, _; not starting with a digit)` });

const UNIT_MS: Record<string, number> = { ns: 1e-6, us: 1e-3, 'µs': 1e-3, ms: 1, s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000 };

/** Go-style durations ("30s", "72h", "1h30m", "500ms"; "d" for days is accepted too) to milliseconds. */
export function parseDuration(input: string | number): number {
  if (typeof input === 'number') return input;
  const s = input.trim();
  if (s === '0' || s === '') return 0;
  const re = /(\d+(?:\.\d+)?)(ns|us|µs|ms|s|m|h|d)/gy;
  let total = 0;
  let matched = 0;
  for (let m = re.exec(s); m; m = re.exec(s)) {
    total += Number(m[1]) * UNIT_MS[m[2]!]!;
    matched = re.lastIndex;
  }
  if (matched !== s.length) throw new Error(`invalid duration "${input}": use a number with a unit, e.g. "30s", "72h" or "1h30m"`);
  return total;
}

const duration = (what: string) =>
  z.union([z.string(), z.number().nonnegative()]).transform((v, ctx) => {
    try {
      return parseDuration(v);
    } catch (err) {
      ctx.addIssue({ code: 'custom', message: `${what}: ${(err as Error).message}` });
      return z.NEVER;
    }
  });

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
    ttl: duration('ttl').default(0),
    table_engine: z
      .object({
        name: ident('table_engine.name').default('MergeTree'),
        params: z.string().default(''),
      })
      .default({ name: 'MergeTree', params: '' }),
    cluster_name: z.string().default(''),
    /** Time limit of one request to a ClickHouse server. */
    timeout: duration('timeout').default(30_000),
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
