// The ClickHouse HTTP protocol, server side, as @clickhouse/client, curl
// and Grafana's ClickHouse datasource (HTTP mode) speak it: the query in the
// `query` URL parameter and/or the body, `default_format` / FORMAT clause,
// `database`, settings as URL parameters, `param_*` query parameters,
// credentials in X-ClickHouse-User/Key, basic auth or user/password
// parameters, gzip/deflate/br bodies and responses, and errors as
// "Code: N. DB::Exception: …" with X-ClickHouse-Exception-Code.
// Shared by the read-only query server and the read-write test facade.
import { randomUUID, timingSafeEqual } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { promisify } from 'node:util';
import zlib from 'node:zlib';
import type { Logger } from 'pino';
import { contentTypeFor } from './formats.js';
import { checkReadOnlyQuery, READONLY, SYNTAX_ERROR } from './readonly-guard.js';
import { leadingKeyword } from './sql-text.js';
import type { QueryOptions, QueryResult } from './store-protocol.js';

/** What the handler runs queries on. */
export interface HttpExecutor {
  query(sql: string, opts: QueryOptions): Promise<QueryResult>;
  /** Read-write mode only: statements with no result set, with or without data (INSERT … FORMAT x + body). */
  write?(sql: string, data: Buffer | undefined, database: string | undefined, settings: Record<string, string>): Promise<void>;
}

export interface HttpHandlerOptions {
  executor: HttpExecutor;
  readOnly: boolean;
  auth?: { username: string; password: string };
  logger?: Logger;
  /** Largest accepted request body. */
  maxBodyBytes?: number;
  /** Reported in error texts, like a server's `(version …)`. */
  version?: string;
}

/** URL parameters that belong to the HTTP layer, not engine settings. */
const HTTP_PARAMS = new Set([
  'query', 'user', 'password', 'database', 'default_format', 'query_id', 'session_id', 'session_timeout', 'session_check',
  'compress', 'decompress', 'quota_key', 'buffer_size', 'wait_end_of_query', 'enable_http_compression',
  'http_zlib_compression_level', 'http_native_compression_disable_checksumming_on_decompress', 'send_progress_in_http_headers',
  'http_headers_progress_interval_ms', 'http_response_buffer_size', 'role', 'client_protocol_version', 'http_wait_end_of_query',
]);

const QUERY_KEYWORDS = new Set(['SELECT', 'WITH', 'SHOW', 'DESCRIBE', 'DESC', 'EXISTS', 'EXPLAIN']);

export class HttpError extends Error {
  constructor(
    readonly code: number,
    readonly type: string,
    message: string,
    readonly status?: number,
  ) {
    super(message);
  }
}

/** ClickHouse's mapping of exception codes to HTTP statuses (HTTPHandler). */
export function httpStatusFor(code: number): number {
  if ([192, 193, 194, 516].includes(code)) return 401; // UNKNOWN_USER, WRONG_PASSWORD, REQUIRED_PASSWORD, AUTHENTICATION_FAILED
  if ([164, 497].includes(code)) return 403; // READONLY, ACCESS_DENIED
  if ([60, 81, 46, 73].includes(code)) return 404; // UNKNOWN_TABLE, UNKNOWN_DATABASE, UNKNOWN_FUNCTION, UNKNOWN_FORMAT
  if ([6, 25, 26, 27, 32, 38, 62, 72, 115, 456, 457].includes(code)) return 400; // parse, syntax, unknown setting, query parameters
  if (code === 48) return 501; // NOT_IMPLEMENTED
  if (code === 159) return 408; // TIMEOUT_EXCEEDED
  return 500;
}

function clickhouseErrorText(code: number, type: string, message: string, version: string): string {
  const msg = message.trim().replace(/\.$/, '');
  return `Code: ${code}. DB::Exception: ${msg}. (${type}) (version ${version})\n`;
}

function decoderFor(encoding: string | undefined): ((b: Buffer) => Promise<Buffer>) | undefined {
  switch ((encoding ?? '').trim().toLowerCase()) {
    case '':
    case 'identity':
      return undefined;
    case 'gzip':
      return promisify(zlib.gunzip);
    case 'deflate':
      return promisify(zlib.inflate);
    case 'br':
      return promisify(zlib.brotliDecompress);
    default:
      throw new HttpError(48, 'NOT_IMPLEMENTED', `Unknown Content-Encoding "${encoding}": use gzip, deflate or br`);
  }
}

function pickEncoding(accept: string | undefined): { name: string; encode: (b: Buffer) => Promise<Buffer> } | undefined {
  const a = (accept ?? '').toLowerCase();
  if (/\bgzip\b/.test(a)) return { name: 'gzip', encode: promisify(zlib.gzip) };
  if (/\bdeflate\b/.test(a)) return { name: 'deflate', encode: promisify(zlib.deflate) };
  if (/\bbr\b/.test(a)) return { name: 'br', encode: promisify(zlib.brotliCompress) };
  return undefined;
}

async function readBody(req: IncomingMessage, max: number): Promise<Buffer> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const c of req) {
    size += (c as Buffer).length;
    if (size > max) throw new HttpError(202, 'QUERY_IS_TOO_LARGE', `Request body is larger than ${max} bytes`, 413);
    chunks.push(c as Buffer);
  }
  return Buffer.concat(chunks);
}

function credentials(req: IncomingMessage, url: URL): { user: string; password: string } {
  const h = req.headers;
  let user = url.searchParams.get('user') ?? undefined;
  let password = url.searchParams.get('password') ?? undefined;
  const hu = h['x-clickhouse-user'];
  const hk = h['x-clickhouse-key'];
  if (typeof hu === 'string') user = hu;
  if (typeof hk === 'string') password = hk;
  const auth = h.authorization;
  if (typeof auth === 'string' && /^basic /i.test(auth)) {
    const decoded = Buffer.from(auth.slice(6).trim(), 'base64').toString('utf8');
    const i = decoded.indexOf(':');
    user = i === -1 ? decoded : decoded.slice(0, i);
    password = i === -1 ? '' : decoded.slice(i + 1);
  }
  return { user: user ?? 'default', password: password ?? '' };
}

function sameSecret(a: string, b: string): boolean {
  const x = Buffer.from(a), y = Buffer.from(b);
  return x.length === y.length && timingSafeEqual(x, y);
}

export function createClickHouseHttpHandler(o: HttpHandlerOptions): (req: IncomingMessage, res: ServerResponse) => void {
  const maxBody = o.maxBodyBytes ?? 16 * 1024 * 1024;
  const version = o.version ?? '26.7';

  const sendError = (res: ServerResponse, err: unknown, queryId: string) => {
    let code = 1000, type = 'STD_EXCEPTION', message = err instanceof Error ? err.message : String(err), status: number | undefined;
    if (err instanceof HttpError) ({ code, type, message, status } = err);
    else {
      const e = err as { code?: unknown; type?: unknown };
      if (typeof e?.type === 'string' && /^\d+$/.test(String(e.code))) {
        code = Number(e.code);
        type = e.type;
      } else if (typeof e?.code === 'string' && /^E[A-Z]+$/.test(e.code)) {
        // The store behind us is unreachable.
        code = 210;
        type = 'NETWORK_ERROR';
      }
    }
    if (res.headersSent) {
      res.destroy();
      return;
    }
    const body = clickhouseErrorText(code, type, message, version);
    res.writeHead(status ?? httpStatusFor(code), {
      'Content-Type': 'text/plain; charset=UTF-8',
      'X-ClickHouse-Exception-Code': String(code),
      'X-ClickHouse-Query-Id': queryId,
      'X-ClickHouse-Server-Display-Name': 'sluice',
      'Content-Length': Buffer.byteLength(body),
    });
    res.end(body);
  };

  const ok = (res: ServerResponse) => {
    res.writeHead(200, { 'Content-Type': 'text/plain; charset=UTF-8', 'Content-Length': 4 });
    res.end('Ok.\n');
  };

  const handle = async (req: IncomingMessage, res: ServerResponse, queryId: string) => {
    const url = new URL(req.url ?? '/', 'http://localhost');
    if (req.method === 'GET' && url.pathname === '/ping') return ok(res);
    if (url.pathname !== '/') throw new HttpError(0, 'NOT_FOUND', `There is no handle ${url.pathname}. Use / or /ping`, 404);
    if (req.method !== 'GET' && req.method !== 'POST') throw new HttpError(0, 'BAD_REQUEST', `HTTP method ${req.method} is not supported: use GET or POST`, 405);

    if (o.auth) {
      const c = credentials(req, url);
      if (!(sameSecret(c.user, o.auth.username) && sameSecret(c.password, o.auth.password))) {
        throw new HttpError(516, 'AUTHENTICATION_FAILED', `${c.user}: Authentication failed: password is incorrect, or there is no user with such name`);
      }
    }
    if (url.searchParams.get('compress') === '1' || url.searchParams.get('decompress') === '1') {
      throw new HttpError(48, 'NOT_IMPLEMENTED', 'ClickHouse-native block compression (compress/decompress=1) is not supported here: use HTTP compression (enable_http_compression=1 and Accept-Encoding)');
    }

    let body = req.method === 'POST' ? await readBody(req, maxBody) : Buffer.alloc(0);
    const decode = decoderFor(req.headers['content-encoding'] as string | undefined);
    if (decode && body.length > 0) body = await decode(body);

    const queryParam = url.searchParams.get('query') ?? '';
    if (queryParam === '' && body.length === 0) return ok(res);

    const settings: Record<string, string> = {};
    const params: Record<string, string> = {};
    for (const [k, v] of url.searchParams) {
      if (k.startsWith('param_')) params[k.slice(6)] = v;
      else if (!HTTP_PARAMS.has(k) && !k.startsWith('http_')) settings[k] = v;
    }
    const header = (name: string) => {
      const v = req.headers[name];
      return typeof v === 'string' && v !== '' ? v : undefined;
    };
    const database = url.searchParams.get('database') ?? header('x-clickhouse-database');
    const format = url.searchParams.get('default_format') ?? header('x-clickhouse-format') ?? 'TabSeparated';

    // ClickHouse runs `query` + body; for an INSERT with a `query` parameter the body is its data.
    let sql: string;
    let data: Buffer | undefined;
    if (queryParam !== '' && body.length > 0 && leadingKeyword(queryParam) === 'INSERT') {
      sql = queryParam;
      data = body;
    } else {
      sql = queryParam !== '' && body.length > 0 ? `${queryParam}\n${body.toString('utf8')}` : queryParam || body.toString('utf8');
    }

    if (o.readOnly) {
      const verdict = checkReadOnlyQuery(data ? `${sql}\n` : sql, settings);
      if (data) throw new HttpError(READONLY.code, READONLY.type, 'Cannot execute query in readonly mode: INSERT is refused on this read-only interface');
      if (!verdict.ok) throw new HttpError(verdict.refusal.code, verdict.refusal.type, verdict.refusal.message);
      sql = verdict.statement;
      // Last, so that it wins over anything sent before it in the same clause.
      delete settings.readonly;
      settings.readonly = '1';
    } else if (!QUERY_KEYWORDS.has(leadingKeyword(sql)) || data) {
      if (!o.executor.write) throw new HttpError(READONLY.code, READONLY.type, 'Cannot execute query in readonly mode');
      await o.executor.write(sql.replace(/;\s*$/, ''), data, database, settings);
      res.writeHead(200, {
        'Content-Type': 'text/plain; charset=UTF-8',
        'X-ClickHouse-Query-Id': queryId,
        'X-ClickHouse-Summary': '{"read_rows":"0","read_bytes":"0","written_rows":"0","written_bytes":"0","total_rows_to_read":"0","result_rows":"0","result_bytes":"0","elapsed_ns":"0"}',
        'Content-Length': 0,
      });
      res.end();
      return;
    } else {
      sql = sql.replace(/;\s*$/, '');
      if (sql.trim() === '') throw new HttpError(SYNTAX_ERROR.code, SYNTAX_ERROR.type, 'Empty query');
    }

    const result = await o.executor.query(sql, {
      format,
      ...(database ? { database } : {}),
      settings,
      ...(Object.keys(params).length > 0 ? { params } : {}),
    });
    let out = result.body;
    const headers: Record<string, string | number> = {
      'Content-Type': result.contentType,
      'X-ClickHouse-Format': result.headers['x-clickhouse-format'] ?? format,
      'X-ClickHouse-Query-Id': queryId,
      'X-ClickHouse-Timezone': result.headers['x-clickhouse-timezone'] ?? 'UTC',
      'X-ClickHouse-Summary': result.headers['x-clickhouse-summary'] ?? '{}',
      'X-ClickHouse-Server-Display-Name': 'sluice',
    };
    if (url.searchParams.get('enable_http_compression') === '1') {
      const enc = pickEncoding(req.headers['accept-encoding'] as string | undefined);
      if (enc) {
        out = await enc.encode(out);
        headers['Content-Encoding'] = enc.name;
      }
    }
    headers['Content-Length'] = out.length;
    res.writeHead(200, headers);
    res.end(out);
  };

  return (req, res) => {
    const url = new URL(req.url ?? '/', 'http://localhost');
    const queryId = url.searchParams.get('query_id') || randomUUID();
    handle(req, res, queryId).catch((err: unknown) => {
      o.logger?.debug({ code: (err as { code?: unknown })?.code, type: (err as { type?: unknown })?.type }, 'ClickHouse HTTP request failed');
      // The body may be unread when we refuse early; drain it so the client gets the answer.
      req.resume();
      sendError(res, err, queryId);
    });
  };
}

export { contentTypeFor };
