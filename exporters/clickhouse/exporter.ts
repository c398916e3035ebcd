// The ClickHouse exporter: one INSERT per batch the pipeline hands over,
// serialized to TabSeparated on this thread and written by the store worker.
// Schema creation never blocks startup for long: with a server that is down
// it is retried with backoff in the background, and export() fails (so the
// pipeline keeps the batch and retries) until the tables exist.
import type { ComponentContext, Exporter } from '../../pipeline/component.js';
import type { Batch, Signal } from '../../pipeline/model.js';
import type { ClickHouseExporterConfig } from './config.js';
import { LOGS_COLUMNS, resourceLogsTsv } from './logs-tsv.js';
import { startQueryServer, type QueryServer } from './query-server.js';
import { schemaStatements, settingsUpgradeStatements, type SchemaOptions } from './schema.js';
import { openClickHouse, type ClickHouseHandle } from './store.js';
import { ENGINE_IN_USE } from './store-protocol.js';
import { TRACES_COLUMNS, resourceSpansTsv } from './traces-tsv.js';
import { TextWriter } from './tsv-common.js';

const FIRST_ATTEMPT_WAIT_MS = 2_000;
const BACKOFF_MIN_MS = 500;
const BACKOFF_MAX_MS = 30_000;

export interface ClickHouseExporterOptions {
  /** Signals of the pipelines this exporter is in; default both. */
  signals?: readonly Signal[];
}

export class ClickHouseExporter implements Exporter {
  private handle: ClickHouseHandle | undefined;
  private schemaReady = false;
  private schemaLoop: Promise<void> | undefined;
  /** Embedded: the engine belongs to another live process (start fails with this). */
  private heldElsewhere: Error | undefined;
  private stopping = false;
  private wake: (() => void) | undefined;
  private queryServer: QueryServer | undefined;
  private readonly schema: SchemaOptions;

  constructor(
    private readonly cfg: ClickHouseExporterConfig,
    private readonly ctx: ComponentContext,
    private readonly opts: ClickHouseExporterOptions = {},
  ) {
    this.schema = {
      database: cfg.database,
      tracesTable: cfg.traces_table_name,
      logsTable: cfg.logs_table_name,
      ttlMs: cfg.ttl,
      tableEngine: cfg.table_engine,
      clusterName: cfg.cluster_name,
    };
  }

  /** The store handle (shared per endpoint), for components that read or write other tables. */
  get clickhouse(): ClickHouseHandle | undefined {
    return this.handle;
  }

  async start(): Promise<void> {
    this.handle = openClickHouse({
      endpoint: this.cfg.endpoint,
      username: this.cfg.username,
      password: this.cfg.password,
      timeoutMs: this.cfg.timeout,
      compression: this.cfg.compression,
    });
    let firstAttemptDone!: () => void;
    const firstAttempt = new Promise<void>((r) => (firstAttemptDone = r));
    this.schemaLoop = this.ensureSchema(firstAttemptDone);
    // The embedded engine answers (or fails) on its own; a server that is
    // down or black-holed must not hold up the whole service.
    if (this.handle.embedded) {
      await firstAttempt;
      // Another Sluice owns the embedded engine: no retry will change that.
      if (this.heldElsewhere) throw this.heldElsewhere;
    }
    else await Promise.race([firstAttempt, new Promise<void>((r) => setTimeout(r, FIRST_ATTEMPT_WAIT_MS).unref())]);
    if (this.handle.embedded && this.cfg.query_endpoint !== '') {
      const { host, port } = parseHostPort(this.cfg.query_endpoint);
      this.queryServer = await startQueryServer({
        host,
        port,
        handle: this.handle,
        logger: this.ctx.logger,
        ...(this.cfg.query_username ? { auth: { username: this.cfg.query_username, password: this.cfg.query_password } } : {}),
      });
      this.ctx.logger.info({ port: this.queryServer.port, host }, 'read-only ClickHouse HTTP interface listening');
    }
  }

  /** True once the tables exist (or, with create_schema off, once ClickHouse answered). */
  ready(): boolean {
    return this.schemaReady;
  }

  /** Port of the read-only ClickHouse HTTP interface, when it runs. */
  queryPort(): number | undefined {
    return this.queryServer?.port;
  }

  /** Resolves once ready() is true (or at shutdown). */
  whenReady(): Promise<void> {
    return this.schemaLoop ?? Promise.reject(new Error('ClickHouse exporter not started'));
  }

  private async ensureSchema(firstAttemptDone: () => void): Promise<void> {
    const signals = this.opts.signals ?? ['traces', 'logs'];
    const which = { traces: signals.includes('traces'), logs: signals.includes('logs') };
    const statements = this.cfg.create_schema
      ? [...schemaStatements(this.schema, which), ...(this.handle?.embedded ? settingsUpgradeStatements(this.schema, which) : [])]
      : [];
    let delay = BACKOFF_MIN_MS;
    for (let attempt = 1; !this.stopping; attempt++) {
      try {
        const handle = this.handle!;
        if (statements.length === 0) {
          if (!(await handle.ping())) throw new Error('ClickHouse did not answer a ping');
        }
        for (const sql of statements) await handle.command(sql);
        this.schemaReady = true;
        firstAttemptDone();
        if (attempt > 1) this.ctx.logger.info({ attempt }, 'ClickHouse schema ready');
        return;
      } catch (err) {
        if ((err as { code?: unknown }).code === ENGINE_IN_USE) {
          this.heldElsewhere = err as Error;
          firstAttemptDone();
          return;
        }
        this.ctx.logger.warn(
          { err: safeMessage(err), attempt, retryInMs: delay, endpoint: redactEndpoint(this.cfg.endpoint) },
          'ClickHouse schema not created yet; retrying',
        );
      }
      firstAttemptDone();
      await new Promise<void>((r) => {
        const t = setTimeout(r, delay);
        t.unref();
        this.wake = () => {
          clearTimeout(t);
          r();
        };
      });
      delay = Math.min(delay * 2, BACKOFF_MAX_MS);
    }
  }

  async export(batch: Batch): Promise<void> {
    const handle = this.handle;
    if (!handle) throw new Error('ClickHouse exporter used before start()');
    if (!this.schemaReady) {
      throw new Error(`ClickHouse tables in database "${this.cfg.database}" do not exist yet (is ${redactEndpoint(this.cfg.endpoint)} reachable?); will retry`);
    }
    const traces = batch.signal === 'traces';
    const { body, rows } = traces ? await serializeInSlices(batch.resourceSpans, resourceSpansTsv) : await serializeInSlices(batch.resourceLogs, resourceLogsTsv);
    if (rows === 0) return;
    const table = traces ? this.cfg.traces_table_name : this.cfg.logs_table_name;
    try {
      await handle.insert(table, body, { database: this.cfg.database, format: 'TabSeparated', columns: traces ? TRACES_COLUMNS : LOGS_COLUMNS });
    } catch (err) {
      // ClickHouse quotes the offending input in parse errors; keep row data
      // out of errors and logs.
      throw new Error(`insert of ${rows} ${batch.signal === 'traces' ? 'spans' : 'log records'} into ${this.cfg.database}.${table} failed: ${safeMessage(err)}`);
    }
  }

  async shutdown(): Promise<void> {
    this.stopping = true;
    this.wake?.();
    await this.queryServer?.close();
    this.queryServer = undefined;
    await this.schemaLoop;
    await this.handle?.close();
    this.handle = undefined;
  }
}

function parseHostPort(s: string): { host: string; port: number } {
  const m = /^(?:\[([^\]]+)\]|([^:]*)):(\d+)$/.exec(s.trim());
  if (!m) throw new Error(`query_endpoint "${s}" must be host:port, e.g. "127.0.0.1:8123" ('' disables the interface)`);
  return { host: m[1] ?? (m[2] || '0.0.0.0'), port: Number(m[3]) };
}

/** An endpoint without credentials that may be embedded in its URL. */
export function redactEndpoint(endpoint: string): string {
  return endpoint.replace(/\/\/[^/@]*@/, '//');
}

/**
 * An error's gist without data: ClickHouse codes and types, network error
 * codes; ClickHouse's own text is dropped when it may quote input rows.
 */
export function safeMessage(err: unknown): string {
  const e = err as { message?: unknown; code?: unknown; type?: unknown };
  const message = typeof e?.message === 'string' ? e.message : String(err);
  if (typeof e?.type === 'string' && /^[A-Z0-9_]+$/.test(e.type)) {
    const parseLike = /PARSE|INCORRECT_DATA|TYPE_MISMATCH|CANNOT_READ|ILLEGAL|INPUT|TOO_LARGE|BAD_ARGUMENTS|VALUE/.test(e.type);
    return `ClickHouse error ${String(e.code ?? '?')} (${e.type})${parseLike ? '' : `: ${truncate(message, 300)}`}`;
  }
  return truncate(message, 300);
}

function truncate(s: string, n: number): string {
  return s.length > n ? s.slice(0, n) + '…' : s;
}

// Serializing a whole 8,192-span batch of agent spans takes 25–250 ms (GC
// included) on the thread that also answers the receivers; a request that
// arrives meanwhile waits for all of it. One resource at a time, giving the
// event loop a turn whenever a slice has taken SLICE_MS, bounds that wait.
const SLICE_MS = 5;

async function serializeInSlices<T>(groups: readonly T[], write: (out: TextWriter, group: T) => number): Promise<{ body: Buffer; rows: number }> {
  const out = new TextWriter();
  let rows = 0;
  let sliceStart = performance.now();
  for (const g of groups) {
    rows += write(out, g);
    if (performance.now() - sliceStart >= SLICE_MS) {
      await new Promise<void>((r) => setImmediate(r));
      sliceStart = performance.now();
    }
  }
  return { body: out.finish(), rows };
}
