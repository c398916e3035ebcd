// The main-thread handle on ClickHouse. The client lives in a dedicated
// worker thread ("store worker"): chDB inserts stall the event loop of the
// thread that runs them for hundreds of ms (FACTS.md), and HTTP inserts of
// large batches cost CPU too. NDJSON bodies cross to the worker in the
// transfer list, without a copy.
//
// One worker per endpoint and credentials per process, shared (ref-counted)
// by the exporter, the read-only query server and any other component: chDB
// binds a single data directory per process.
import { createRequire } from 'node:module';
import { extname } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Worker } from 'node:worker_threads';
import { EMBEDDED_JEMALLOC_CONF, parseEndpoint } from './store-backend.js';
import {
  ClickHouseStoreError,
  ownedBytes,
  type InsertFormat,
  type QueryOptions,
  type QueryResult,
  type StoreOptions,
  type StoreRequest,
  type StoreResponse,
} from './store-protocol.js';

export type { InsertFormat, QueryOptions, QueryResult } from './store-protocol.js';
export { ClickHouseStoreError } from './store-protocol.js';

export interface OpenClickHouseOptions {
  /** `embedded:<dir>`, `embedded::memory:` or http(s)://host:8123. */
  endpoint: string;
  username?: string;
  password?: string;
  /** Per-request time limit for a server endpoint. Default 30 s. */
  timeoutMs?: number;
  /** HTTP compression for a server endpoint. Default gzip. */
  compression?: 'none' | 'gzip';
}

export interface InsertOptions {
  database?: string;
  format?: InsertFormat;
  columns?: readonly string[];
}

export interface ClickHouseHandle {
  readonly endpoint: string;
  readonly embedded: boolean;
  /**
   * One INSERT of the whole body, JSONEachRow unless `format` says otherwise;
   * `columns` names the body's columns in order (needed for TabSeparated).
   * Rejects on any failure; safe to retry.
   */
  insert(table: string, body: Buffer | Uint8Array, opts?: InsertOptions): Promise<void>;
  /** A statement with no result (DDL). */
  command(sql: string, opts?: { database?: string }): Promise<void>;
  /** Raw result in the requested format, with ClickHouse's response headers. */
  query(sql: string, opts?: QueryOptions): Promise<QueryResult>;
  /** Rows of a SELECT, parsed from JSONEachRow. */
  queryJson<T = Record<string, unknown>>(sql: string, opts?: Omit<QueryOptions, 'format'>): Promise<T[]>;
  ping(): Promise<boolean>;
  /** Releases this handle; the worker stops when the last handle on it closes. */
  close(): Promise<void>;
}

/** A request before it is given an id. */
type StoreRequestBody = StoreRequest extends infer R ? (R extends unknown ? Omit<R, 'id'> : never) : never;

interface Pending {
  resolve(v: unknown): void;
  reject(e: Error): void;
}

class StoreWorker {
  private worker: Worker | undefined;
  private readonly pending = new Map<number, Pending>();
  private nextId = 1;
  private stopped = false;
  refs = 0;

  constructor(private readonly opts: StoreOptions) {}

  /** The live worker; a worker that died is replaced on the next request. */
  private live(): Worker {
    if (this.worker) return this.worker;
    const worker = spawnWorker(this.opts);
    worker.unref();
    worker.on('message', (msg: StoreResponse) => {
      const p = this.pending.get(msg.id);
      if (!p) return;
      this.pending.delete(msg.id);
      if (this.pending.size === 0) worker.unref();
      if (msg.ok) p.resolve(msg.result);
      else p.reject(new ClickHouseStoreError(msg.error));
    });
    const fail = (err: Error) => {
      if (this.worker !== worker) return;
      this.worker = undefined;
      for (const p of this.pending.values()) p.reject(err);
      this.pending.clear();
    };
    worker.on('error', (err) => fail(new Error(`ClickHouse store worker failed: ${err.message}`)));
    worker.on('exit', (code) => fail(new Error(`ClickHouse store worker exited (code ${code})`)));
    this.worker = worker;
    return worker;
  }

  call<T>(req: StoreRequestBody, transfer: ArrayBuffer[] = []): Promise<T> {
    if (this.stopped) return Promise.reject(new Error('the ClickHouse store is closed'));
    const worker = this.live();
    const id = this.nextId++;
    return new Promise<T>((resolve, reject) => {
      if (this.pending.size === 0) worker.ref();
      this.pending.set(id, { resolve: resolve as (v: unknown) => void, reject });
      worker.postMessage({ ...req, id } as StoreRequest, transfer);
    });
  }

  async stop(): Promise<void> {
    if (this.worker) await this.call({ op: 'close' }).catch(() => undefined);
    this.stopped = true;
    const w = this.worker;
    this.worker = undefined;
    await w?.terminate();
  }
}

const workers = new Map<string, StoreWorker>();
let embeddedLocation: string | undefined;

// No execArgv: a worker inherits the process's options, while one given them
// as execArgv refuses to start on any V8 flag (`node --max-old-space-size=…`,
// the first thing an operator tunes), and the store never opened.
function spawnWorker(opts: StoreOptions): Worker {
  const here = import.meta.url;
  const ext = extname(fileURLToPath(here));
  const url = new URL(`./store-worker${ext}`, here);
  if (ext === '.ts') {
    // Under tsx (tests, `node --import tsx`): Node 20 does not run --import
    // in workers, so the worker registers tsx itself before loading the .ts.
    const tsxApi = import.meta.resolve('tsx/esm/api');
    const boot = `import(${JSON.stringify(tsxApi)}).then((m) => { m.register(); return import(${JSON.stringify(url.href)}); });`;
    return new Worker(boot, { eval: true, workerData: opts });
  }
  return new Worker(url, { workerData: opts });
}

/**
 * Opens (or joins) the store worker for an endpoint. Only one embedded data
 * directory can be open per process.
 */
export function openClickHouse(o: OpenClickHouseOptions): ClickHouseHandle {
  const opts: StoreOptions = {
    endpoint: o.endpoint,
    username: o.username ?? 'default',
    password: o.password ?? '',
    timeoutMs: o.timeoutMs ?? 30_000,
    compression: o.compression ?? 'gzip',
  };
  const parsed = parseEndpoint(opts.endpoint);
  const key = parsed.kind === 'embedded' ? `embedded:${parsed.location}` : JSON.stringify([parsed.location, opts.username, opts.password, opts.timeoutMs, opts.compression]);
  let w = workers.get(key);
  if (!w) {
    if (parsed.kind === 'embedded') {
      if (embeddedLocation !== undefined && embeddedLocation !== parsed.location) {
        throw new Error(
          `the embedded ClickHouse engine is already open at "${embeddedLocation}" in this process; chDB binds one data directory per process: use the same endpoint everywhere, or a server endpoint`,
        );
      }
      embeddedLocation = parsed.location;
      // The chDB addon must also be loaded by the main thread: a native addon
      // loaded only by a worker is unloaded when the worker stops, and chDB
      // crashes the process (SIGSEGV) when that happens.
      process.env.JE_MALLOC_CONF ??= EMBEDDED_JEMALLOC_CONF;
      createRequire(import.meta.url)('chdb');
    }
    w = new StoreWorker(opts);
    workers.set(key, w);
  }
  const worker = w;
  worker.refs++;
  let closed = false;
  const guard = () => (closed ? Promise.reject(new Error('this ClickHouse handle is closed')) : undefined);
  const handle: ClickHouseHandle = {
    endpoint: opts.endpoint,
    embedded: parsed.kind === 'embedded',
    insert(table, data, io) {
      const body = ownedBytes(data);
      return (
        guard() ??
        worker.call<void>(
          {
            op: 'insert',
            table,
            body,
            ...(io?.database ? { database: io.database } : {}),
            ...(io?.format ? { format: io.format } : {}),
            ...(io?.columns ? { columns: io.columns } : {}),
          },
          [body.buffer as ArrayBuffer],
        )
      );
    },
    command(sql, io) {
      return guard() ?? worker.call<void>({ op: 'command', sql, ...(io?.database ? { database: io.database } : {}) });
    },
    async query(sql, qo = {}) {
      await guard();
      const r = await worker.call<{ body: Uint8Array; contentType: string; headers: Record<string, string> }>({ op: 'query', sql, options: qo });
      return { ...r, body: Buffer.from(r.body.buffer, r.body.byteOffset, r.body.byteLength) };
    },
    async queryJson<T>(sql: string, qo: Omit<QueryOptions, 'format'> = {}) {
      const r = await handle.query(sql, { ...qo, format: 'JSONEachRow' });
      const text = r.body.toString('utf8');
      const rows: T[] = [];
      for (const line of text.split('\n')) if (line !== '') rows.push(JSON.parse(line) as T);
      return rows;
    },
    async ping() {
      await guard();
      return worker.call<boolean>({ op: 'ping' }).catch(() => false);
    },
    async close() {
      if (closed) return;
      closed = true;
      if (--worker.refs > 0) return;
      if (workers.get(key) === worker) workers.delete(key);
      if (parsed.kind === 'embedded' && embeddedLocation === parsed.location) embeddedLocation = undefined;
      await worker.stop();
    },
  };
  return handle;
}
