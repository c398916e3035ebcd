// Fuzzing the OTLP/gRPC receiver: mutated and random Export messages are
// answered OK or INVALID_ARGUMENT with a reason (never INTERNAL, never a
// hang), oversized and compressed-bomb messages RESOURCE_EXHAUSTED, and the
// server keeps serving.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { credentials, makeGenericClientConstructor, status as grpcStatus, type Client, type ServiceError } from '@grpc/grpc-js';
import { startTestService, type TestService } from '../helpers/service.js';
import { deepProtobuf, mutatedProtobuf, randomBytes, validTraceBodies } from './arbitraries.js';

const identity = (b: Buffer) => b;
const service = (path: string) => ({
  Export: { path, requestStream: false, responseStream: false, requestSerialize: identity, requestDeserialize: identity, responseSerialize: identity, responseDeserialize: identity },
});

type ExportClient = Client & { Export(req: Buffer, opts: { deadline: Date }, cb: (err: ServiceError | null, res?: Buffer) => void): void };

function client(port: number, path: string, options: Record<string, unknown> = {}): ExportClient {
  const Ctor = makeGenericClientConstructor(service(path), 'Export');
  return new Ctor(`127.0.0.1:${port}`, credentials.createInsecure(), { 'grpc.max_send_message_length': -1, ...options }) as unknown as ExportClient;
}

function call(c: ExportClient, body: Buffer): Promise<{ code: number; details: string }> {
  return new Promise((resolve) => {
    // The deadline turns a hang into DEADLINE_EXCEEDED, which the assertions refuse.
    c.Export(body, { deadline: new Date(Date.now() + 20_000) }, (err) => resolve(err ? { code: err.code, details: err.details } : { code: grpcStatus.OK, details: '' }));
  });
}

describe('OTLP/gRPC receiver under hostile input', () => {
  let svc: TestService;
  let traces: ExportClient;
  let logs: ExportClient;
  before(async () => {
    svc = await startTestService({ exporters: { yaml: '  debug: {}', ids: ['debug'] }, logLevel: 'silent' });
    traces = client(svc.ports.grpc!, '/opentelemetry.proto.collector.trace.v1.TraceService/Export');
    logs = client(svc.ports.grpc!, '/opentelemetry.proto.collector.logs.v1.LogsService/Export');
  });
  after(async () => {
    traces.close();
    logs.close();
    await svc.cleanup();
  });

  const answered = (r: { code: number; details: string }) => {
    assert.ok(r.code === grpcStatus.OK || r.code === grpcStatus.INVALID_ARGUMENT, `status ${grpcStatus[r.code]}: ${r.details}`);
    if (r.code !== grpcStatus.OK) assert.ok(r.details.length > 0, 'a reason is given');
  };

  test('mutated and random messages on both services: OK or INVALID_ARGUMENT with a reason', async () => {
    await fc.assert(
      fc.asyncProperty(fc.oneof(mutatedProtobuf, randomBytes), fc.boolean(), async (body, onLogs) => answered(await call(onLogs ? logs : traces, body))),
      { numRuns: 200, seed: Number(process.env.FUZZ_SEED ?? 11) },
    );
    assert.equal((await call(traces, validTraceBodies[0] as Buffer)).code, grpcStatus.OK);
  });

  test('AnyValue nested 200,000 deep: OK, with the plain span taken', async () => {
    assert.equal((await call(traces, deepProtobuf(200_000, 'kvlist'))).code, grpcStatus.OK);
  });

  test('a message over max_recv_msg_size (4 MiB) is RESOURCE_EXHAUSTED, also when a small gzip body inflates past it', async () => {
    const big = Buffer.concat([Buffer.from([0x0a]), Buffer.from([0x80, 0x80, 0x80, 0x03]), Buffer.alloc(6 * 1024 * 1024, 0x20)]);
    assert.equal((await call(traces, big)).code, grpcStatus.RESOURCE_EXHAUSTED);
    const zipped = client(svc.ports.grpc!, '/opentelemetry.proto.collector.trace.v1.TraceService/Export', { 'grpc.default_compression_algorithm': 2 });
    try {
      const r = await call(zipped, Buffer.alloc(64 * 1024 * 1024, 0));
      assert.equal(r.code, grpcStatus.RESOURCE_EXHAUSTED, `${grpcStatus[r.code]}: ${r.details}`);
      assert.equal((await call(zipped, validTraceBodies[1] as Buffer)).code, grpcStatus.OK, 'compressed valid messages are taken');
    } finally {
      zipped.close();
    }
    assert.equal((await call(traces, validTraceBodies[0] as Buffer)).code, grpcStatus.OK, 'still serving');
  });
});
