// Every error path of the OTLP receivers: a clear status and reason for bad
// input, backpressure instead of loss, and the valid part of a batch still
// landing when one item is malformed.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { gzipSync } from 'node:zlib';
import { credentials, Metadata, makeGenericClientConstructor, status as grpcStatus, type ServiceError } from '@grpc/grpc-js';
import { startTestService, type TestService } from '../helpers/service.js';
import { makeSpan, traceBatchOf } from '../helpers/model.js';
import { encodeTraces } from '../../pipeline/otlp/encode-protobuf.js';

const traceId = '5b8efff798038103d269b633813fc60c';
const spanJson = (id: string, tid = traceId) => ({
  traceId: tid,
  spanId: id,
  name: 'op',
  kind: 1,
  startTimeUnixNano: '1700000000000000000',
  endTimeUnixNano: '1700000000500000000',
});
const requestJson = (spans: unknown[]) =>
  JSON.stringify({ resourceSpans: [{ resource: { attributes: [{ key: 'service.name', value: { stringValue: 'errors-test' } }] }, scopeSpans: [{ scope: { name: 's' }, spans }] }] });

async function metric(service: TestService, pattern: RegExp): Promise<number> {
  const text = await (await fetch(`http://127.0.0.1:${service.ports.admin}/metrics`)).text();
  const m = pattern.exec(text);
  return m ? Number(m[1]) : 0;
}

describe('OTLP/HTTP bad input', () => {
  let service: TestService;
  let url: string;
  before(async () => {
    service = await startTestService({
      exporters: { yaml: '  debug: {}', ids: ['debug'] },
      httpOptions: '        max_request_body_size: 64KiB',
    });
    url = `http://127.0.0.1:${service.ports.http}`;
  });
  after(() => service.cleanup());

  test('malformed protobuf is 400 with a google.rpc.Status in protobuf', async () => {
    const res = await fetch(`${url}/v1/traces`, { method: 'POST', headers: { 'content-type': 'application/x-protobuf' }, body: new Uint8Array([0x0a, 0xff, 0xff, 0xff, 0x0f, 0x01]) });
    assert.equal(res.status, 400);
    assert.equal(res.headers.get('content-type'), 'application/x-protobuf');
    const body = Buffer.from(await res.arrayBuffer());
    assert.equal(body[0], 0x08, 'Status.code field first');
    assert.equal(body[1], 3, 'INVALID_ARGUMENT');
    assert.ok(body.length > 4, 'a message explains the error');
  });

  test('malformed JSON is 400 with a JSON Status that names the problem, not the payload', async () => {
    const res = await fetch(`${url}/v1/logs`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{"resourceLogs": [ {"secret-sk_live_abc' });
    assert.equal(res.status, 400);
    const body = (await res.json()) as { code: number; message: string };
    assert.equal(body.code, 3);
    assert.ok(body.message.length > 0);
    assert.ok(!body.message.includes('sk_live_abc'), 'error messages never echo the payload');
  });

  test('an unsupported content type is 415', async () => {
    const res = await fetch(`${url}/v1/traces`, { method: 'POST', headers: { 'content-type': 'text/plain' }, body: 'hello' });
    assert.equal(res.status, 415);
    assert.match(await res.text(), /application\/x-protobuf or application\/json/);
  });

  test('GET and unknown paths are refused', async () => {
    assert.equal((await fetch(`${url}/v1/traces`)).status, 405);
    assert.equal((await fetch(`${url}/v1/metrics`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{}' })).status, 404);
  });

  test('a body over max_request_body_size is 413', async () => {
    const big = requestJson([{ ...spanJson('0000000000000001'), name: 'x'.repeat(70 * 1024) }]);
    const res = await fetch(`${url}/v1/traces`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: big });
    assert.equal(res.status, 413);
  });

  test('a gzip bomb is 413: the decompressed size is bounded too', async () => {
    const bomb = gzipSync(Buffer.alloc(8 * 1024 * 1024, 0x20));
    assert.ok(bomb.length < 64 * 1024, 'the compressed bomb itself is under the limit');
    const res = await fetch(`${url}/v1/traces`, { method: 'POST', headers: { 'content-type': 'application/json', 'content-encoding': 'gzip' }, body: bomb });
    assert.equal(res.status, 413);
    assert.match(((await res.json()) as { message: string }).message, /decompressed/);
  });

  test('an unknown content encoding is refused with the ones supported', async () => {
    const res = await fetch(`${url}/v1/traces`, { method: 'POST', headers: { 'content-type': 'application/json', 'content-encoding': 'br' }, body: requestJson([]) });
    assert.equal(res.status, 415);
  });

  test('gzip JSON is accepted and one malformed span is rejected with its reason while the rest land', async () => {
    const before = await metric(service, /sluice_exporter_sent_items_total\{exporter="debug",signal="traces"\} (\d+)/);
    const body = gzipSync(requestJson([spanJson('0000000000000001'), spanJson('00000000000002', traceId), spanJson('0000000000000003', 'zz')]));
    const res = await fetch(`${url}/v1/traces`, { method: 'POST', headers: { 'content-type': 'application/json', 'content-encoding': 'gzip' }, body });
    assert.equal(res.status, 200);
    const out = (await res.json()) as { partialSuccess?: { rejectedSpans?: string | number; errorMessage?: string } };
    assert.equal(Number(out.partialSuccess?.rejectedSpans), 2);
    assert.match(out.partialSuccess?.errorMessage ?? '', /span/i);
    await service.flush();
    const after_ = await metric(service, /sluice_exporter_sent_items_total\{exporter="debug",signal="traces"\} (\d+)/);
    assert.equal(after_ - before, 1, 'the valid span was exported');
    assert.ok((await metric(service, /sluice_receiver_refused_items_total\{receiver="otlp",transport="http",signal="traces",reason="malformed"\} (\d+)/)) >= 2);
  });
});

describe('backpressure when the store is down', () => {
  let service: TestService;
  before(async () => {
    // A ClickHouse server that refuses connections: exports fail and retry, the queue fills.
    service = await startTestService({
      clickhouseEndpoint: 'http://127.0.0.1:1',
      exporters: { yaml: '  clickhouse:\n    endpoint: "http://127.0.0.1:1"\n    query_endpoint: ""', ids: ['clickhouse'] },
      batch: '    timeout: 10ms\n    send_batch_size: 2\n    queue_size: 4\n    retry_after: 7',
      logLevel: 'silent',
    });
  });
  after(async () => {
    await service.cleanup();
  });

  test('OTLP/HTTP answers 503 with Retry-After once the queue is full, never 200-and-drop', async () => {
    const url = `http://127.0.0.1:${service.ports.http}/v1/traces`;
    const statuses: number[] = [];
    let retryAfter: string | null = null;
    for (let i = 0; i < 6; i++) {
      const res = await fetch(url, { method: 'POST', headers: { 'content-type': 'application/json' }, body: requestJson([spanJson(`10000000000000${String(i).padStart(2, '0')}`)]) });
      statuses.push(res.status);
      if (res.status === 503) retryAfter = res.headers.get('retry-after');
      await res.arrayBuffer();
    }
    assert.deepEqual(statuses.slice(0, 4), [200, 200, 200, 200]);
    assert.deepEqual(statuses.slice(4), [503, 503]);
    assert.equal(retryAfter, '7');
    const text = await (await fetch(`http://127.0.0.1:${service.ports.admin}/metrics`)).text();
    // Refused before their bodies were read: counted as requests, not items.
    assert.match(text, /sluice_receiver_refused_requests_total\{receiver="otlp",transport="http",signal="traces",reason="queue_full"\} 2/);
    assert.doesNotMatch(text, /sluice_receiver_refused_items_total\{[^}]*reason="queue_full"\}/, 'no refused request was decoded');
    assert.match(text, /sluice_queue_size\{pipeline="traces\/batch"\} 4/);
    assert.doesNotMatch(text, /sluice_dropped_items_total\{[^}]*\} [1-9]/, 'nothing accepted was dropped');
  });

  test('OTLP/gRPC answers UNAVAILABLE with RetryInfo when the queue is full', async () => {
    const Client = makeGenericClientConstructor(
      {
        Export: {
          path: '/opentelemetry.proto.collector.trace.v1.TraceService/Export',
          requestStream: false,
          responseStream: false,
          requestSerialize: (b: Buffer) => b,
          requestDeserialize: (b: Buffer) => b,
          responseSerialize: (b: Buffer) => b,
          responseDeserialize: (b: Buffer) => b,
        },
      },
      'TraceService',
    );
    const client = new Client(`127.0.0.1:${service.ports.grpc}`, credentials.createInsecure());
    // An empty request is accepted (nothing to queue) ...
    const empty = await new Promise<Buffer>((resolve, reject) =>
      (client as any).Export(Buffer.alloc(0), new Metadata(), (err: ServiceError | null, res: Buffer) => (err ? reject(err) : resolve(res))),
    );
    assert.ok(Buffer.isBuffer(empty));
    // ... then one real span while the queue is full.
    const batch = traceBatchOf([makeSpan({ traceId, spanId: '2000000000000001' })]);
    const err = await new Promise<ServiceError>((resolve) =>
      (client as any).Export(Buffer.from(encodeTraces(batch)), new Metadata(), (e: ServiceError | null) => resolve(e as ServiceError)),
    );
    assert.equal(err?.code, grpcStatus.UNAVAILABLE);
    assert.ok(err.metadata.get('grpc-status-details-bin').length === 1, 'RetryInfo details are attached');
    client.close();
  });
});
