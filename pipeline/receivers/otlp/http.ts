// OTLP/HTTP (https://opentelemetry.io/docs/specs/otlp/#otlphttp) on plain
// node:http: the hot path gets no framework layers, and body size, gzip
// bombs and slow clients are bounded here, before anything is decoded.
import { createServer, type IncomingMessage, type RequestListener, type Server, type ServerResponse } from 'node:http';
import { createServer as createTlsServer } from 'node:https';
import { tlsServerOptions } from '../../../config/tls.js';
import type { AddressInfo } from 'node:net';
import { gunzip, inflate } from 'node:zlib';
import { promisify } from 'node:util';
import type { Signal } from '../../model.js';
import { listenOn } from '../../listen.js';
import { encodeExportResponse } from '../../otlp/encode-protobuf.js';
import type { OtlpHttpConfig } from './config.js';
import { ingest, refuseEarly, type Encoding, type IngestDeps } from './ingest.js';
import { createIngestAuth } from './auth.js';
import { encodeStatusJson, encodeStatusProto, GrpcCode } from './status.js';

const gunzipAsync = promisify(gunzip);
const inflateAsync = promisify(inflate);

const CONTENT_TYPES: Record<Encoding, string> = { protobuf: 'application/x-protobuf', json: 'application/json' };

class HttpError extends Error {
  constructor(
    readonly status: number,
    message: string,
  ) {
    super(message);
  }
}

function encodingOf(contentType: string | undefined): Encoding | undefined {
  const media = (contentType ?? '').split(';')[0]?.trim().toLowerCase();
  if (media === 'application/x-protobuf' || media === 'application/protobuf') return 'protobuf';
  if (media === 'application/json') return 'json';
  return undefined;
}

function readBody(req: IncomingMessage, limit: number): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const declared = Number(req.headers['content-length']);
    if (Number.isFinite(declared) && declared > limit) {
      reject(new HttpError(413, `request body of ${declared} bytes exceeds the limit of ${limit} bytes`));
      return;
    }
    const chunks: Buffer[] = [];
    let size = 0;
    req.on('data', (chunk: Buffer) => {
      size += chunk.length;
      if (size > limit) {
        req.removeAllListeners('data');
        req.resume();
        reject(new HttpError(413, `request body exceeds the limit of ${limit} bytes`));
        return;
      }
      chunks.push(chunk);
    });
    req.on('end', () => resolve(chunks.length === 1 ? (chunks[0] as Buffer) : Buffer.concat(chunks, size)));
    req.on('error', reject);
  });
}

async function decompress(body: Buffer, contentEncoding: string | undefined, limit: number): Promise<Buffer> {
  const enc = (contentEncoding ?? '').trim().toLowerCase();
  if (enc === '' || enc === 'identity') return body;
  try {
    // maxOutputLength bounds the decompressed size: a gzip bomb stops here.
    if (enc === 'gzip' || enc === 'x-gzip') return await gunzipAsync(body, { maxOutputLength: limit });
    if (enc === 'deflate') return await inflateAsync(body, { maxOutputLength: limit });
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ERR_BUFFER_TOO_LARGE' || err instanceof RangeError) {
      throw new HttpError(413, `decompressed request body exceeds the limit of ${limit} bytes`);
    }
    throw new HttpError(400, `request body is not valid ${enc} data`);
  }
  throw new HttpError(415, `unsupported Content-Encoding "${enc}"; use gzip, deflate or none`);
}

export interface HttpReceiverHandle {
  port: number;
  close(): Promise<void>;
}

export async function startHttpReceiver(config: OtlpHttpConfig, deps: IngestDeps): Promise<HttpReceiverHandle> {
  const routes = new Map<string, Signal>([
    [config.traces_url_path, 'traces'],
    [config.logs_url_path, 'logs'],
  ]);
  const limit = config.max_request_body_size;
  const authorized = createIngestAuth(config.auth);

  function send(res: ServerResponse, status: number, encoding: Encoding, body: string | Buffer, headers: Record<string, string> = {}) {
    res.writeHead(status, { 'Content-Type': CONTENT_TYPES[encoding], 'Content-Length': String(Buffer.byteLength(body)), ...headers });
    res.end(body);
  }

  function sendStatus(res: ServerResponse, http: number, encoding: Encoding, code: number, message: string, retryAfter?: number) {
    const headers: Record<string, string> = retryAfter !== undefined ? { 'Retry-After': String(retryAfter) } : {};
    const body = encoding === 'json' ? encodeStatusJson(code, message, retryAfter) : encodeStatusProto(code, message, retryAfter);
    send(res, http, encoding, body, headers);
  }

  async function handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const path = (req.url ?? '/').split('?')[0] as string;
    const signal = routes.get(path);
    if (!signal) {
      res.writeHead(404, { 'Content-Type': 'text/plain' }).end(`404 page not found: OTLP/HTTP serves ${[...routes.keys()].join(' and ')}\n`);
      return;
    }
    if (req.method !== 'POST') {
      res.writeHead(405, { Allow: 'POST', 'Content-Type': 'text/plain' }).end(`405 method ${req.method} not allowed, use POST\n`);
      return;
    }
    const encoding = encodingOf(req.headers['content-type']);
    if (authorized && !authorized(req.headers.authorization)) {
      req.resume();
      deps.metrics.receiverRefused.inc({ receiver: deps.receiver, transport: 'http', signal, reason: 'unauthenticated' }, 1);
      res.writeHead(401, { 'Content-Type': 'text/plain', 'WWW-Authenticate': 'Bearer realm="sluice-otlp"' }).end('401 missing or unknown ingest token (Authorization: Bearer <token>)\n');
      return;
    }
    if (!encoding) {
      req.resume();
      res
        .writeHead(415, { 'Content-Type': 'text/plain' })
        .end(`415 unsupported media type "${req.headers['content-type'] ?? ''}": use application/x-protobuf or application/json\n`);
      return;
    }
    // A full queue answers before the body is read, decompressed and decoded.
    const early = req.headers['content-length'] === '0' ? undefined : refuseEarly(deps, signal);
    if (early?.kind === 'busy') {
      req.resume();
      sendStatus(res, 503, encoding, GrpcCode.UNAVAILABLE, early.message, early.retryAfterSeconds);
      return;
    }
    let body: Buffer;
    try {
      body = await decompress(await readBody(req, limit), req.headers['content-encoding'], limit);
    } catch (err) {
      const status = err instanceof HttpError ? err.status : 400;
      deps.metrics.receiverRefused.inc({ receiver: deps.receiver, transport: 'http', signal, reason: status === 413 ? 'too_large' : 'malformed' }, 1);
      if (status === 413) res.setHeader('Connection', 'close');
      sendStatus(res, status, encoding, GrpcCode.INVALID_ARGUMENT, (err as Error).message);
      return;
    }
    const outcome = await ingest(deps, signal, encoding, body);
    switch (outcome.kind) {
      case 'ok':
        send(res, 200, encoding, encodeExportResponse(signal, { rejected: outcome.rejected, errorMessage: outcome.errorMessage }, encoding));
        return;
      case 'invalid':
        sendStatus(res, 400, encoding, GrpcCode.INVALID_ARGUMENT, outcome.message);
        return;
      case 'busy':
        sendStatus(res, 503, encoding, GrpcCode.UNAVAILABLE, outcome.message, outcome.retryAfterSeconds);
        return;
      case 'unavailable':
        sendStatus(res, 404, encoding, GrpcCode.UNIMPLEMENTED, outcome.message);
        return;
      case 'failed':
        sendStatus(res, 503, encoding, GrpcCode.UNAVAILABLE, outcome.message, 1);
        return;
    }
  }

  const listener: RequestListener = (req, res) => {
    handle(req, res).catch((err) => {
      deps.logger.error({ err: (err as Error).message }, 'otlp http handler failed');
      if (!res.headersSent) res.writeHead(500, { 'Content-Type': 'text/plain' }).end('500 internal error\n');
      else res.destroy();
    });
  };
  // Node checks request timeouts only every connectionsCheckingInterval
  // (30 s by default): check often enough that read_timeout really bounds a
  // slow client.
  const timeouts = {
    requestTimeout: config.read_timeout,
    headersTimeout: Math.min(config.read_timeout, 60_000),
    connectionsCheckingInterval: Math.max(250, Math.min(30_000, Math.floor(config.read_timeout / 4))),
  };
  const server: Server = config.tls
    ? createTlsServer({ ...timeouts, ...tlsServerOptions(config.tls) }, listener)
    : createServer(timeouts, listener);
  server.keepAliveTimeout = 65_000;

  await listenOn(server, config.endpoint, `the OTLP/HTTP receiver ${deps.receiver}`, `set receivers.${deps.receiver}.protocols.http.endpoint to another host:port`);
  const port = (server.address() as AddressInfo).port;
  return {
    port,
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeIdleConnections();
      }),
  };
}
