// Fuzzing the OTLP/HTTP receiver over the wire (protobuf and JSON): whatever
// the body, the answer is 200 or a 4xx with a reason, promptly, the process
// stays healthy, and the valid items of a partly broken batch still land.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { startTestService, type TestService } from '../helpers/service.js';
import { deepProtobuf, hostileJson, jsonRequest, jsonSpan, mutatedProtobuf, randomBytes, validTraceBodies } from './arbitraries.js';

let service: TestService;
let url: string;

async function post(path: string, contentType: string, body: Buffer | string): Promise<{ status: number; body: Buffer; headers: Headers }> {
  // A hang fails the run (no answer within 20 s) instead of stalling it.
  const res = await fetch(`${url}${path}`, { method: 'POST', headers: { 'content-type': contentType }, body, signal: AbortSignal.timeout(20_000) });
  return { status: res.status, body: Buffer.from(await res.arrayBuffer()), headers: res.headers };
}

/** 200, or a 4xx whose body is a google.rpc.Status naming the problem. */
function assertAnswered(r: { status: number; body: Buffer }, encoding: 'protobuf' | 'json'): void {
  assert.ok([200, 400, 413].includes(r.status), `status ${r.status}`);
  if (r.status === 200) return;
  if (encoding === 'json') {
    const s = JSON.parse(r.body.toString('utf8')) as { code: number; message: string };
    assert.equal(s.code, 3);
    assert.ok(s.message.length > 0, 'a reason is given');
  } else {
    assert.equal(r.body[0], 0x08, 'Status.code first');
    assert.equal(r.body[1], 3, 'INVALID_ARGUMENT');
    assert.equal(r.body[2], 0x12, 'then Status.message');
    assert.ok((r.body[3] as number) > 0, 'a non-empty reason');
  }
}

async function sentSpans(): Promise<number> {
  const text = await (await fetch(`http://127.0.0.1:${service.ports.admin}/metrics`)).text();
  return Number(/sluice_exporter_sent_items_total\{exporter="debug",signal="traces"\} (\d+)/.exec(text)?.[1] ?? 0);
}

async function assertHealthy(): Promise<void> {
  assert.equal((await fetch(`http://127.0.0.1:${service.ports.admin}/healthz`)).status, 200);
  const r = await post('/v1/traces', 'application/x-protobuf', validTraceBodies[0] as Buffer);
  assert.equal(r.status, 200, 'a valid request is still taken');
}

describe('OTLP/HTTP receiver under hostile input', () => {
  before(async () => {
    service = await startTestService({
      exporters: { yaml: '  debug: {}', ids: ['debug'] },
      tracesProcessors: ['redaction'],
      processors: '  redaction: {}',
      httpOptions: '        max_request_body_size: 4MiB',
      logLevel: 'silent',
    });
    url = `http://127.0.0.1:${service.ports.http}`;
  });
  after(() => service.cleanup());

  test('mutated protobuf (truncated, overwritten, inserted bytes, wrong wire types, huge lengths): 200 or 400 with a reason', async () => {
    await fc.assert(
      fc.asyncProperty(mutatedProtobuf, async (body) => assertAnswered(await post('/v1/traces', 'application/x-protobuf', body), 'protobuf')),
      { numRuns: 150, seed: Number(process.env.FUZZ_SEED ?? 1) },
    );
    await assertHealthy();
  });

  test('random bytes as protobuf and as JSON, on both signals', async () => {
    await fc.assert(
      fc.asyncProperty(randomBytes, fc.constantFrom('/v1/traces', '/v1/logs'), fc.constantFrom('protobuf' as const, 'json' as const), async (body, path, enc) =>
        assertAnswered(await post(path, enc === 'json' ? 'application/json' : 'application/x-protobuf', body), enc),
      ),
      { numRuns: 150, seed: Number(process.env.FUZZ_SEED ?? 2) },
    );
    await assertHealthy();
  });

  test('hostile JSON (deep nesting, duplicate keys, NaN/Infinity, 1 MB strings, invalid UTF-8, wrong shapes): 200 or 400 with a reason', async () => {
    await fc.assert(
      fc.asyncProperty(hostileJson, async (body) => assertAnswered(await post('/v1/traces', 'application/json', body), 'json')),
      { numRuns: 120, seed: Number(process.env.FUZZ_SEED ?? 3) },
    );
    await assertHealthy();
  });

  test('AnyValue nested past the depth limit is refused item by item; the plain span beside it lands', async () => {
    for (const kind of ['array', 'kvlist'] as const) {
      for (const depth of [31, 33, 5000, 200_000]) {
        await service.flush();
        const before_ = await sentSpans();
        const r = await post('/v1/traces', 'application/x-protobuf', deepProtobuf(depth, kind));
        assert.equal(r.status, 200, `${kind} depth ${depth}`);
        await service.flush();
        const landed = (await sentSpans()) - before_;
        // Within the limit both land; far past it only the plain span does (33 sits at the limit's edge either way).
        if (depth <= 31) assert.equal(landed, 2, `${kind} depth ${depth}`);
        else if (depth >= 5000) assert.equal(landed, 1, `${kind} depth ${depth}`);
        else assert.ok(landed === 1 || landed === 2);
      }
    }
  });

  test('valid spans in a batch with broken ones land; the broken ones are counted back to the client', async () => {
    const broken = fc.constantFrom(
      jsonSpan('zz'), // span id not hex
      jsonSpan('00000000000001'), // span id too short
      jsonSpan('0000000000000001', '', 'abc'), // trace id too short
      jsonSpan('0000000000000001', ',"attributes":[{"key":"x","value":{"intValue":"12x"}}]'),
      jsonSpan('0000000000000001', ',"startTimeUnixNano":"-5"'),
      jsonSpan('0000000000000001', ',"kind":"NOT_A_KIND"'),
    );
    await fc.assert(
      fc.asyncProperty(fc.array(fc.boolean(), { minLength: 1, maxLength: 12 }), broken, async (layout, bad) => {
        const spans = layout.map((ok, i) => (ok ? jsonSpan((i + 1).toString(16).padStart(16, '0')) : bad));
        const valid = layout.filter(Boolean).length;
        await service.flush();
        const before_ = await sentSpans();
        const r = await post('/v1/traces', 'application/json', jsonRequest(spans));
        assert.equal(r.status, 200);
        const out = JSON.parse(r.body.toString('utf8')) as { partialSuccess?: { rejectedSpans?: string | number; errorMessage?: string } };
        assert.equal(Number(out.partialSuccess?.rejectedSpans ?? 0), layout.length - valid);
        if (layout.length > valid) assert.ok((out.partialSuccess?.errorMessage ?? '').length > 0, 'the rejection has a reason');
        await service.flush();
        assert.equal((await sentSpans()) - before_, valid, 'every valid span was exported');
      }),
      { numRuns: 40, seed: Number(process.env.FUZZ_SEED ?? 4) },
    );
  });
});
