// Overload: clients offering far more than embedded ClickHouse can take.
// The queue stays within its bound (so memory does too), the excess is
// pushed back (HTTP 503 + Retry-After, gRPC UNAVAILABLE), never dropped,
// and everything acknowledged lands. The ten-minute soak with RSS samples
// is bench/overload.ts; this is its short, asserting form.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { credentials, makeGenericClientConstructor, status as grpcStatus, type Client, type ServiceError } from '@grpc/grpc-js';
import { startTestService, type TestService } from '../helpers/service.js';
import { agentSpans } from '../../bench/lib/agent-traffic.js';
import { encodeTraces } from '../../pipeline/otlp/encode-protobuf.js';
import type { TraceBatch } from '../../pipeline/model.js';

const QUEUE = 3000;
const PER_REQUEST = 200;

async function metric(svc: TestService, re: RegExp): Promise<number> {
  const text = await (await fetch(`http://127.0.0.1:${svc.ports.admin}/metrics`)).text();
  return Number(re.exec(text)?.[1] ?? 0);
}

describe('overload against embedded ClickHouse', () => {
  let svc: TestService;
  before(async () => {
    svc = await startTestService({ batch: `    timeout: 50ms\n    send_batch_size: 1000\n    queue_size: ${QUEUE}\n    retry_after: 1`, logLevel: 'silent' });
  });
  after(() => svc.cleanup());

  test('the queue stays bounded, the excess is pushed back on HTTP and gRPC, and every acknowledged span lands', async () => {
    // Distinct span ids per request (the generator is deterministic per request number).
    let n = 0;
    const nextBody = () => encodeTraces(agentSpans({ seed: 99, perRequest: PER_REQUEST }, n++) as TraceBatch);
    const stats = { ok: 0, busy: 0, retryAfter: new Set<string>(), grpcOk: 0, grpcUnavailable: 0, other: [] as string[] };
    let maxDepth = 0;
    // At least 3 s of flood, longer (up to 30 s) until both transports have met a full queue.
    const minEnd = Date.now() + 3000;
    const maxEnd = Date.now() + 30_000;
    const running = () => Date.now() < minEnd || (Date.now() < maxEnd && (stats.busy === 0 || stats.grpcUnavailable === 0));
    const sampler = (async () => {
      while (running()) {
        maxDepth = Math.max(maxDepth, await metric(svc, /sluice_queue_size\{pipeline="traces\/batch"\} (\d+)/));
        await new Promise((r) => setTimeout(r, 50));
      }
    })();
    const http = Array.from({ length: 8 }, async () => {
      while (running()) {
        const res = await fetch(`http://127.0.0.1:${svc.ports.http}/v1/traces`, { method: 'POST', headers: { 'content-type': 'application/x-protobuf' }, body: nextBody() });
        await res.arrayBuffer();
        if (res.status === 200) stats.ok++;
        else if (res.status === 503) {
          stats.busy++;
          stats.retryAfter.add(res.headers.get('retry-after') ?? '');
        } else stats.other.push(`http ${res.status}`);
      }
    });
    const identity = (b: Buffer) => b;
    const Ctor = makeGenericClientConstructor(
      { Export: { path: '/opentelemetry.proto.collector.trace.v1.TraceService/Export', requestStream: false, responseStream: false, requestSerialize: identity, requestDeserialize: identity, responseSerialize: identity, responseDeserialize: identity } },
      'Export',
    );
    const grpc = new Ctor(`127.0.0.1:${svc.ports.grpc}`, credentials.createInsecure()) as unknown as Client & { Export(b: Buffer, cb: (e: ServiceError | null) => void): void };
    const grpcLoad = Array.from({ length: 4 }, async () => {
      while (running()) {
        const err = await new Promise<ServiceError | null>((r) => grpc.Export(nextBody(), (e) => r(e)));
        if (!err) stats.grpcOk++;
        else if (err.code === grpcStatus.UNAVAILABLE) stats.grpcUnavailable++;
        else stats.other.push(`grpc ${grpcStatus[err.code]}`);
      }
    });
    await Promise.all([...http, ...grpcLoad, sampler]);
    grpc.close();
    await svc.flush();

    const info = JSON.stringify({ ...stats, retryAfter: [...stats.retryAfter], maxDepth });
    assert.deepEqual(stats.other, [], 'only 200/OK and backpressure');
    assert.ok(stats.busy > 0, `HTTP clients were pushed back: ${info}`);
    assert.deepEqual([...stats.retryAfter], ['1']);
    assert.ok(stats.grpcUnavailable > 0, `gRPC clients were pushed back: ${info}`);
    // One request beyond the bound is possible: a request is taken whole when it fits partly.
    assert.ok(maxDepth <= QUEUE, `queue depth peaked at ${maxDepth} of ${QUEUE}`);
    const accepted = (stats.ok + stats.grpcOk) * PER_REQUEST;
    const refusedRequests = await metric(svc, /sluice_receiver_refused_requests_total\{receiver="otlp",transport="http",signal="traces",reason="queue_full"\} (\d+)/);
    assert.equal(refusedRequests, stats.busy, 'every pushed-back request is counted');
    // Most are refused before they are read; those refused after decoding count their spans too.
    const refusedItems = await metric(svc, /sluice_receiver_refused_items_total\{receiver="otlp",transport="http",signal="traces",reason="queue_full"\} (\d+)/);
    assert.ok(refusedItems < stats.busy * PER_REQUEST, `most pushed-back requests were never decoded: ${refusedItems} spans of ${stats.busy} requests`);
    const rows = await svc.flush().then(() => metric(svc, /sluice_exporter_sent_items_total\{exporter="clickhouse",signal="traces"\} (\d+)/));
    assert.equal(rows, accepted, 'every acknowledged span was written');
    assert.equal(await metric(svc, /sluice_dropped_items_total\{[^}]*\} (\d+)/), 0);
  });
});
