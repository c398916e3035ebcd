// Who may send: ingest tokens on OTLP/HTTP and OTLP/gRPC (any other
// credential, fuzzed, is refused before the body is read), TLS on both
// receivers with the certificate and key from config, and the token itself,
// given through ${env:…}, in no log line.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import fc from 'fast-check';
import pino from 'pino';
import { Agent, fetch as undiciFetch } from 'undici';
import { credentials, makeGenericClientConstructor, Metadata, status as grpcStatus, type Client, type ServiceError } from '@grpc/grpc-js';
import { parseConfigText } from '../../config/load.js';
import { startService, type RunningService } from '../../pipeline/service.js';
import { validTraceBodies } from './arbitraries.js';

const TOKEN = 'ingest-token-for-fuzz-0123456789abcdef';
const identity = (b: Buffer) => b;
const Ctor = makeGenericClientConstructor(
  { Export: { path: '/opentelemetry.proto.collector.trace.v1.TraceService/Export', requestStream: false, responseStream: false, requestSerialize: identity, requestDeserialize: identity, responseSerialize: identity, responseDeserialize: identity } },
  'Export',
);
type ExportClient = Client & { Export(b: Buffer, md: Metadata, cb: (e: ServiceError | null) => void): void };

function grpcCall(c: ExportClient, auth?: string): Promise<number> {
  const md = new Metadata();
  if (auth !== undefined) md.set('authorization', auth);
  return new Promise((r) => c.Export(validTraceBodies[0] as Buffer, md, (e) => r(e ? e.code : grpcStatus.OK)));
}

describe('ingest authentication and TLS on the OTLP receivers', () => {
  let dir: string;
  let svc: RunningService;
  let logText = '';
  let ca: Buffer;
  let https: Agent;
  let grpc: ExportClient;

  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'sluice-fuzz-auth-'));
    execFileSync('openssl', ['req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-days', '1', '-subj', '/CN=127.0.0.1', '-addext', 'subjectAltName=IP:127.0.0.1', '-keyout', join(dir, 'key.pem'), '-out', join(dir, 'cert.pem')], { stdio: 'ignore' });
    ca = await readFile(join(dir, 'cert.pem'));
    const tls = `tls: { cert_file: "${join(dir, 'cert.pem')}", key_file: "${join(dir, 'key.pem')}" }`;
    const auth = 'auth: { tokens: [ { name: agent, value: "${env:FUZZ_INGEST_TOKEN}", scopes: [ingest] } ] }';
    const config = parseConfigText(
      `receivers:
  otlp:
    protocols:
      http: { endpoint: "127.0.0.1:0", ${tls}, ${auth} }
      grpc: { endpoint: "127.0.0.1:0", ${tls}, ${auth} }
processors:
  batch: { timeout: 10ms }
exporters:
  debug: {}
service:
  data_dir: "${dir}"
  telemetry: { logs: { level: debug }, admin: { endpoint: "127.0.0.1:0" } }
  pipelines:
    traces: { receivers: [otlp], processors: [batch], exporters: [debug] }
`,
      { FUZZ_INGEST_TOKEN: TOKEN },
      'auth-test',
    );
    // Every log line the service writes, at debug level, is kept to be searched for the token.
    const sink = new Writable({
      write(chunk, _enc, cb) {
        logText += chunk.toString();
        cb();
      },
    });
    svc = await startService(config, { logger: pino({ level: 'debug' }, sink) });
    https = new Agent({ connect: { ca } });
    grpc = new Ctor(`127.0.0.1:${svc.ports.grpc}`, credentials.createSsl(ca)) as unknown as ExportClient;
  });
  after(async () => {
    grpc?.close();
    await https?.close();
    await svc?.stop();
    await rm(dir, { recursive: true, force: true });
  });

  const post = (authorization?: string) =>
    undiciFetch(`https://127.0.0.1:${svc.ports.http}/v1/traces`, {
      method: 'POST',
      dispatcher: https,
      headers: { 'content-type': 'application/x-protobuf', ...(authorization !== undefined ? { authorization } : {}) },
      body: validTraceBodies[0] as Buffer,
    });

  test('OTLP/HTTP over TLS: the ingest token is required; anything else is 401 with a challenge', async () => {
    const ok = await post(`Bearer ${TOKEN}`);
    assert.equal(ok.status, 200);
    await ok.arrayBuffer();
    const none = await post();
    assert.equal(none.status, 401);
    assert.match(none.headers.get('www-authenticate') ?? '', /^Bearer/);
    await none.arrayBuffer();
    await fc.assert(
      fc.asyncProperty(
        fc.oneof(
          fc.string({ maxLength: 100 }).map((s) => s.replace(/[^\x20-\x7e]/g, '')),
          fc.constantFrom(`Bearer ${TOKEN.slice(0, -1)}`, `Bearer ${TOKEN}x`, `Basic ${Buffer.from(`agent:${TOKEN}`).toString('base64')}`, `bearer  ${TOKEN} extra`, TOKEN, 'Bearer '),
        ),
        async (auth) => {
          fc.pre(auth !== `Bearer ${TOKEN}` && auth.trim().toLowerCase() !== `bearer ${TOKEN}`);
          const r = await post(auth);
          assert.equal(r.status, 401, `credential ${JSON.stringify(auth)}`);
          await r.arrayBuffer();
        },
      ),
      { numRuns: 80, seed: Number(process.env.FUZZ_SEED ?? 31) },
    );
  });

  test('plain HTTP to the TLS port is not served', async () => {
    await assert.rejects(fetch(`http://127.0.0.1:${svc.ports.http}/v1/traces`, { method: 'POST', body: 'x', signal: AbortSignal.timeout(10_000) }).then(async (r) => {
      await r.arrayBuffer();
      if (r.status === 200) return;
      throw new Error(`not served: ${r.status}`);
    }));
  });

  test('OTLP/gRPC over TLS: UNAUTHENTICATED without the token, OK with it', async () => {
    assert.equal(await grpcCall(grpc, `Bearer ${TOKEN}`), grpcStatus.OK);
    assert.equal(await grpcCall(grpc), grpcStatus.UNAUTHENTICATED);
    assert.equal(await grpcCall(grpc, `Bearer ${TOKEN.toUpperCase()}`), grpcStatus.UNAUTHENTICATED);
    assert.equal(await grpcCall(grpc, 'Bearer '), grpcStatus.UNAUTHENTICATED);
    const plain = new Ctor(`127.0.0.1:${svc.ports.grpc}`, credentials.createInsecure()) as unknown as ExportClient;
    try {
      assert.equal(await grpcCall(plain, `Bearer ${TOKEN}`), grpcStatus.UNAVAILABLE, 'no plaintext gRPC on the TLS port');
    } finally {
      plain.close();
    }
  });

  test('the token given through ${env:…} is in no log line, even at debug level', async () => {
    assert.ok(logText.length > 0, 'the service logged something');
    assert.ok(!logText.includes(TOKEN), 'the token value was logged');
    assert.ok(!logText.includes(TOKEN.slice(0, 16)), 'part of the token was logged');
  });
});
