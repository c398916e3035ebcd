// The ClickHouse side of the store worker: one @clickhouse/client per
// database, over chDB (embedded) or HTTP (server), behind the same calls.
// Runs inside the store worker thread (and in the test facade's child
// process); never on the receivers' thread, because chDB stalls the event
// loop of the thread that drives it.
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { unlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { Readable } from 'node:stream';
import { createClient, type ClickHouseClient, type ClickHouseSettings } from '@clickhouse/client';
import { pidAlive } from '../../pipeline/dir-lock.js';
import { contentTypeFor } from './formats.js';
import { ENGINE_IN_USE, type InsertFormat, type QueryOptions, type QueryResult, type StoreOptions } from './store-protocol.js';
import { quoteIdent } from './schema.js';
import { formatOf } from './sql-text.js';

export interface ParsedEndpoint {
  kind: 'embedded' | 'server';
  /** Absolute data directory or ':memory:' (embedded), URL (server). */
  location: string;
}

export function parseEndpoint(endpoint: string): ParsedEndpoint {
  if (endpoint.startsWith('embedded:')) {
    const p = endpoint.slice('embedded:'.length);
    if (p === '') throw new Error('endpoint "embedded:" needs a directory, e.g. "embedded:./data/clickhouse", or "embedded::memory:"');
    return { kind: 'embedded', location: p === ':memory:' ? ':memory:' : resolve(p) };
  }
  if (/^https?:\/\//.test(endpoint)) return { kind: 'server', location: endpoint };
  throw new Error(`unsupported ClickHouse endpoint "${endpoint}": use "embedded:<dir>", "embedded::memory:" or http(s)://host:8123`);
}

/**
 * Why an embedded engine would not open, when it is another live process's:
 * ClickHouse locks `<dir>/status` (which names its pid) for as long as it
 * runs, and chDB's own error only says "Failed to create connection".
 */
function engineHeldBy(location: string): Error | undefined {
  try {
    const pid = Number(/^PID: (\d+)$/m.exec(readFileSync(join(location, 'status'), 'utf8'))?.[1] ?? 0);
    if (pid > 0 && pid !== process.pid && pidAlive(pid)) {
      const msg = `the embedded ClickHouse data directory ${location} is in use by process ${pid}; one Sluice process per data directory (or point exporters.clickhouse.endpoint at a ClickHouse server)`;
      return Object.assign(new Error(msg), { code: ENGINE_IN_USE });
    }
  } catch {
    // No status file: not that.
  }
  return undefined;
}

const ORPHAN_SPOOL = /^sluice-insert-(\d+)-/;

/**
 * The temporary spools of in-memory engines whose process is gone: one killed
 * (kill -9, the OOM killer) cannot remove its own, and each holds up to a
 * batch's insert files (about 15 MB each), so a crash loop would fill the
 * temporary directory. A spool names its process; a live one, or one made by
 * a Sluice older than the name, is left alone. Best effort: an error here
 * never stops an insert.
 */
function removeOrphanSpools(parent: string): void {
  try {
    for (const name of readdirSync(parent)) {
      const pid = Number(ORPHAN_SPOOL.exec(name)?.[1] ?? 0);
      if (pid > 0 && pid !== process.pid && !pidAlive(pid)) rmSync(join(parent, name), { recursive: true, force: true });
    }
  } catch {
    // An unreadable temporary directory: mkdtemp below reports what matters.
  }
}

/**
 * Server settings of the embedded engine. Its caches default to 5 GiB each
 * and its memory limit to 90% of RAM, sized for a host of its own; here it
 * shares the process with the pipeline, so the caches are capped (they fill
 * from queries, e.g. Grafana through the read-only port), and a runaway query
 * or merge fails (an insert is retried by the pipeline) rather than take the
 * host's memory.
 */
export const EMBEDDED_ENGINE_ARGS: readonly string[] = [
  '--mark_cache_size=268435456',
  '--index_mark_cache_size=67108864',
  '--primary_index_cache_size=67108864',
  '--uncompressed_cache_size=0',
  '--max_server_memory_usage=2147483648',
];

/**
 * Allocator options of the embedded engine. chDB's jemalloc reads
 * JE_MALLOC_CONF (not MALLOC_CONF) once, when the addon loads, so it must be
 * in the process environment before then; an operator's own value wins.
 * One arena instead of one per CPU: freed pages (kept 5 s as dirty before
 * they go back to the OS) are reused by whichever thread allocates next
 * rather than sitting in the other arena. 24 × 8,000-span inserts, 3 runs
 * each way: peak RSS +460–511 MiB against +537–540, insert CPU 39–47 µs/row
 * against 46–52. A shorter dirty decay lowers RSS further but costs insert
 * CPU, which sets the end-to-end rate: 1 s +35%, 0.2 s +80% per row.
 */
export const EMBEDDED_JEMALLOC_CONF = 'percpu_arena:disabled,narenas:1';

const SETTING_NAME = /^[A-Za-z_][A-Za-z0-9_]*$/;

function settingLiteral(v: string | number | boolean): string {
  if (typeof v === 'boolean') return v ? '1' : '0';
  if (typeof v === 'number') return String(v);
  if (/^-?\d+(\.\d+)?$/.test(v)) return v;
  return sqlString(v);
}

/** A ClickHouse string literal. */
function sqlString(v: string): string {
  return "'" + v.replace(/\\/g, '\\\\').replace(/'/g, "''") + "'";
}

/**
 * Settings as a trailing SETTINGS clause. chDB applies `clickhouse_settings`
 * with SET, which outlives the query in its session; a SETTINGS clause does
 * not. The newline ends a trailing `--` comment in the user's SQL.
 */
export function withSettingsClause(sql: string, settings: Record<string, string | number | boolean>): string {
  const entries = Object.entries(settings);
  if (entries.length === 0) return sql;
  const parts: string[] = [];
  for (const [k, v] of entries) {
    if (!SETTING_NAME.test(k)) throw new Error(`invalid setting name "${k}": letters, digits and _ only`);
    parts.push(`${k} = ${settingLiteral(v)}`);
  }
  return `${sql}\nSETTINGS ${parts.join(', ')}`;
}

async function readAll(stream: Readable): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const c of stream) chunks.push(typeof c === 'string' ? Buffer.from(c) : (c as Buffer));
  return chunks.length === 1 ? chunks[0]! : Buffer.concat(chunks);
}

async function drain(stream: Readable): Promise<void> {
  for await (const _ of stream) void _;
}

export class StoreBackend {
  readonly endpoint: ParsedEndpoint;
  private readonly clients = new Map<string, Promise<ClickHouseClient>>();
  /** Embedded only: runs a statement on the chDB connection of the default client. */
  private chdbQuery?: (sql: string) => Promise<unknown>;
  /** Embedded only: where insert bodies wait as files for INSERT … FROM INFILE. */
  private spool?: { dir: string; temporary: boolean; next: number };
  private timezone: Promise<string> | undefined;
  /** Embedded on disk: the first connection, which starts the engine with EMBEDDED_ENGINE_ARGS. */
  private engine: { close(): void } | undefined;
  private closed = false;

  constructor(private readonly opts: StoreOptions) {
    this.endpoint = parseEndpoint(opts.endpoint);
    if (this.endpoint.kind === 'embedded' && this.endpoint.location !== ':memory:') mkdirSync(this.endpoint.location, { recursive: true });
  }

  /** A client whose current database is `database` (one per database: chDB's USE is per session). */
  private client(database = 'default'): Promise<ClickHouseClient> {
    if (this.closed) return Promise.reject(new Error('the ClickHouse store is closed'));
    let c = this.clients.get(database);
    if (!c) {
      c = this.createClient(database);
      this.clients.set(database, c);
      c.catch(() => this.clients.delete(database));
    }
    return c;
  }

  private async createClient(database: string): Promise<ClickHouseClient> {
    if (this.endpoint.kind === 'embedded') {
      // Loaded only for embedded endpoints: a server endpoint needs no chDB.
      const { createChdbConnection } = await import('chdb/connection');
      // The engine takes server settings only from the connection that starts
      // it, and chdb/connection passes none: this session comes first and
      // lives as long as the store. (':memory:' is a throwaway: defaults.)
      if (!this.engine && this.endpoint.location !== ':memory:') {
        const { Session } = (await import('chdb')).default;
        try {
          this.engine = new Session(this.endpoint.location, { connectionArgs: EMBEDDED_ENGINE_ARGS });
        } catch (err) {
          throw engineHeldBy(this.endpoint.location) ?? err;
        }
      }
      const connection = createChdbConnection({ path: this.endpoint.location });
      const client = createClient({ connection } as Parameters<typeof createClient>[0]);
      if (database === 'default') this.chdbQuery = (sql) => connection.chdb.queryAsync(sql);
      if (database !== 'default') {
        try {
          await client.command({ query: `USE ${quoteIdent(database)}` });
        } catch (err) {
          await client.close();
          throw err;
        }
      }
      return client;
    }
    return createClient({
      url: this.endpoint.location,
      username: this.opts.username,
      password: this.opts.password,
      database,
      request_timeout: this.opts.timeoutMs,
      compression: { request: this.opts.compression === 'gzip', response: this.opts.compression === 'gzip' },
    });
  }

  /** One INSERT of a whole body in `format`, into `columns` when given. */
  async insert(table: string, body: Uint8Array, database?: string, format: InsertFormat = 'JSONEachRow', columns?: readonly string[]): Promise<void> {
    const client = await this.client();
    const buf = Buffer.from(body.buffer, body.byteOffset, body.byteLength);
    const target = database ? `${quoteIdent(database)}.${quoteIdent(table)}` : quoteIdent(table);
    const cols = columns ? ` (${columns.map(quoteIdent).join(', ')})` : '';
    if (this.chdbQuery) {
      // The engine reads the body from a file. Inline data (chDB's rawInsert,
      // or the client's INSERT … FORMAT with the body after it) costs the
      // engine 5–18 µs more CPU per agent span than the same rows read from
      // a file, 1.2–1.6× the file's cost (bench:clickhouse-path, RESULTS.md);
      // writing the file costs about 1 µs per span.
      const file = this.spoolFile(format);
      await writeFile(file, buf);
      try {
        await this.chdbQuery(`INSERT INTO ${target}${cols} FROM INFILE ${sqlString(file)} FORMAT ${format}`);
      } finally {
        await unlink(file).catch(() => undefined);
      }
      return;
    }
    const res = await client.exec({
      query: `INSERT INTO ${target}${cols} FORMAT ${format}`,
      values: Readable.from([buf], { objectMode: false }),
    });
    await drain(res.stream);
  }

  /** A fresh file name in the spool directory, made (and emptied of a crashed run's leftovers) on first use. */
  private spoolFile(format: string): string {
    if (!this.spool) {
      const onDisk = this.endpoint.location !== ':memory:';
      // Inside the data directory (same disk, removed with it); a private
      // temporary directory for an in-memory engine.
      if (!onDisk) removeOrphanSpools(tmpdir());
      const dir = onDisk ? join(this.endpoint.location, 'sluice_insert_spool') : mkdtempSync(join(tmpdir(), `sluice-insert-${process.pid}-`));
      mkdirSync(dir, { recursive: true });
      if (onDisk) for (const f of readdirSync(dir)) rmSync(join(dir, f), { force: true });
      this.spool = { dir, temporary: !onDisk, next: 0 };
    }
    return join(this.spool.dir, `${process.pid}-${this.spool.next++}.${format.toLowerCase()}`);
  }

  /** A statement with no result set, with its input data if any (INSERT … FORMAT x). */
  async write(sql: string, data: Uint8Array | undefined, database?: string): Promise<void> {
    const client = await this.client(database);
    if (!data) return this.command(sql, database);
    const res = await client.exec({ query: sql, values: Readable.from([Buffer.from(data.buffer, data.byteOffset, data.byteLength)], { objectMode: false }) });
    await drain(res.stream);
  }

  async command(sql: string, database?: string): Promise<void> {
    const client = await this.client(database);
    await client.command({ query: sql });
  }

  async query(sql: string, o: QueryOptions = {}): Promise<QueryResult> {
    const client = await this.client(o.database);
    const format = o.format ?? 'TabSeparated';
    const embedded = this.endpoint.kind === 'embedded';
    const settings = o.settings ?? {};
    const clickhouse_settings: ClickHouseSettings = { default_format: format as ClickHouseSettings['default_format'] };
    if (!embedded) Object.assign(clickhouse_settings, settings);
    const res = await client.exec({
      query: embedded ? withSettingsClause(sql, settings) : sql,
      clickhouse_settings,
      ...(o.params && Object.keys(o.params).length > 0 ? { query_params: o.params } : {}),
    });
    const body = await readAll(res.stream);
    if (!embedded) {
      const headers: Record<string, string> = {};
      for (const [k, v] of Object.entries(res.response_headers)) {
        if (v === undefined) continue;
        const name = k.toLowerCase();
        if (name.startsWith('x-clickhouse-') || name === 'content-type') headers[name] = Array.isArray(v) ? v.join(', ') : String(v);
      }
      return { body, contentType: headers['content-type'] ?? contentTypeFor(headers['x-clickhouse-format'] ?? format), headers };
    }
    const effective = formatOf(sql) ?? format;
    const summary = (res as { summary?: unknown }).summary;
    return {
      body,
      contentType: contentTypeFor(effective),
      headers: {
        'x-clickhouse-format': effective,
        'x-clickhouse-query-id': res.query_id,
        'x-clickhouse-timezone': await this.serverTimezone(),
        'x-clickhouse-summary': JSON.stringify(summary ?? {}),
      },
    };
  }

  private serverTimezone(): Promise<string> {
    this.timezone ??= this.client()
      .then((c) => c.query({ query: 'SELECT timezone() AS tz', format: 'JSONEachRow' }))
      .then((r) => r.json<{ tz: string }>())
      .then((rows) => rows[0]?.tz ?? 'UTC')
      .catch(() => 'UTC');
    return this.timezone;
  }

  async ping(): Promise<boolean> {
    const client = await this.client();
    const r = await client.ping();
    return r.success;
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    const clients = [...this.clients.values()];
    this.clients.clear();
    await Promise.all(clients.map((p) => p.then((c) => c.close()).catch(() => undefined)));
    this.engine?.close();
    this.engine = undefined;
    if (this.spool?.temporary) rmSync(this.spool.dir, { recursive: true, force: true });
  }
}
