// Messages between the main-thread handle (store.ts) and the store worker
// (store-worker.ts). Bodies travel as ArrayBuffers in the transfer list, so a
// batch of NDJSON crosses threads without a copy.

export interface StoreOptions {
  /** `embedded:<dir>`, `embedded::memory:` or an http(s):// URL. */
  endpoint: string;
  username: string;
  password: string;
  /** Request time limit for a server endpoint, ms. */
  timeoutMs: number;
  compression: 'none' | 'gzip';
}

/** Input formats of `insert` bodies. */
export type InsertFormat = 'JSONEachRow' | 'TabSeparated';

export interface QueryOptions {
  /** Output format when the SQL has no FORMAT clause. Default TabSeparated. */
  format?: string;
  database?: string;
  /** Query-level settings; never persist beyond the query. */
  settings?: Record<string, string | number | boolean>;
  /** Values for {name:Type} placeholders. */
  params?: Record<string, unknown>;
}

export interface QueryResult {
  body: Buffer;
  contentType: string;
  /** ClickHouse response headers, lower-case names (x-clickhouse-*). */
  headers: Record<string, string>;
}

export type StoreRequest =
  | { id: number; op: 'insert'; table: string; database?: string; body: Uint8Array; format?: InsertFormat; columns?: readonly string[] }
  | { id: number; op: 'command'; sql: string; database?: string }
  | { id: number; op: 'query'; sql: string; options: QueryOptions }
  | { id: number; op: 'ping' }
  | { id: number; op: 'close' };

export interface SerializedError {
  name: string;
  message: string;
  code?: string;
  type?: string;
}

export type StoreResponse =
  | { id: number; ok: true; result?: unknown }
  | { id: number; ok: false; error: SerializedError };

/** Error code: the embedded engine's directory belongs to another live process (no retry helps). */
export const ENGINE_IN_USE = 'SLUICE_ENGINE_IN_USE';

export function serializeError(err: unknown): SerializedError {
  if (err instanceof Error) {
    const e = err as Error & { code?: unknown; type?: unknown };
    return {
      name: e.name,
      message: e.message,
      ...(e.code !== undefined ? { code: String(e.code) } : {}),
      ...(typeof e.type === 'string' ? { type: e.type } : {}),
    };
  }
  return { name: 'Error', message: String(err) };
}

/** An error from ClickHouse or from reaching it, rebuilt on the caller's side. */
export class ClickHouseStoreError extends Error {
  readonly code?: string;
  readonly type?: string;
  constructor(s: SerializedError) {
    super(s.message);
    this.name = s.name === 'ClickHouseError' ? 'ClickHouseError' : 'ClickHouseStoreError';
    if (s.code !== undefined) this.code = s.code;
    if (s.type !== undefined) this.type = s.type;
  }
}

/** An ArrayBuffer holding exactly these bytes, safe to put in a transfer list. */
export function ownedBytes(buf: Uint8Array): Uint8Array {
  // Small Buffers are slices of Node's shared pool; transferring that pool
  // would detach every other Buffer carved from it.
  if (buf.byteOffset === 0 && buf.byteLength === buf.buffer.byteLength && buf.buffer instanceof ArrayBuffer) return buf;
  const copy = new Uint8Array(buf.byteLength);
  copy.set(buf);
  return copy;
}
