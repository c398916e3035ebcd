// Resource attacks on the OTLP/HTTP receiver: slow-loris bodies and headers,
// compression bombs, 100k attributes on one span, a million spans in one
// request. Each is bounded and answered (or cut off), and the process keeps
// serving ordinary clients meanwhile.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { connect, type Socket } from 'node:net';
import { deflateSync, gzipSync } from 'node:zlib';
import { startTestService, type TestService } from '../helpers/service.js';
import { validTraceBodies, varint } from './arbitraries.js';

const ld = (field: number, ...parts: Buffer[]) => {
  const body = Buffer.concat(parts);
  return Buffer.concat([varint((field << 3) | 2), varint(body.length), body]);
};

/** ExportTraceServiceRequest with these encoded spans in one scope. */
const request = (spans: Buffer[]) => ld(1, ld(2, ...spans));

function minimalSpan(n: number, attributes: Buffer[] = []): Buffer {
  const id = Buffer.alloc(8);
  id.writeUInt32BE(n + 1, 4);
  return ld(2, ld(1, Buffer.from('5b8efff798038103d269b633813fc60c', 'hex')), ld(2, id), ld(5, Buffer.from('h')), ...attributes);
}

describe('OTLP/HTTP receiver under resource attacks', () => {
  let svc: TestService;
  let port: number;
  const sockets: Socket[] = [];
  before(async () => {
    svc = await startTestService({
      exporters: { yaml: '  debug: {}', ids: ['debug'] },
      tracesProcessors: ['redaction'],
      processors: '  redaction: {}',
      httpOptions: '        read_timeout: 1500',
      logLevel: 'silent',
    });
    port = svc.ports.http!;
  });
  after(async () => {
    for (const s of sockets) s.destroy();
    await svc.cleanup();
  });

  const post = (body: Buffer, headers: Record<string, string> = {}) =>
    fetch(`http://127.0.0.1:${port}/v1/traces`, { method: 'POST', headers: { 'content-type': 'application/x-protobuf', ...headers }, body, signal: AbortSignal.timeout(60_000) });

  async function assertServing(): Promise<void> {
    const r = await post(validTraceBodies[0] as Buffer);
    assert.equal(r.status, 200, 'an ordinary client is still served');
    await r.arrayBuffer();
  }

  /** Opens a connection that sends `head`, then one byte every 200 ms; resolves when the server closes it. */
  function slowClient(head: string, trickle: string): Promise<string> {
    return new Promise((resolve, reject) => {
      const s = connect(port, '127.0.0.1');
      sockets.push(s);
      let answer = '';
      let timer: NodeJS.Timeout | undefined;
      s.on('connect', () => {
        s.write(head);
        timer = setInterval(() => s.write(trickle), 200);
      });
      s.on('data', (d) => (answer += d));
      s.on('error', () => undefined);
      s.on('close', () => {
        clearInterval(timer);
        resolve(answer);
      });
      // A connection the server never cuts is the failure this test exists for.
      setTimeout(() => reject(new Error('the server kept a slow-loris connection open for 45 s')), 45_000).unref();
    });
  }

  test('slow-loris bodies and headers are cut off, and ordinary clients are served meanwhile', async () => {
    const slowBodies = Array.from({ length: 50 }, () =>
      slowClient('POST /v1/traces HTTP/1.1\r\nHost: x\r\nContent-Type: application/x-protobuf\r\nContent-Length: 100000\r\n\r\n', '\x0a'),
    );
    const slowHeaders = Array.from({ length: 50 }, () => slowClient('POST /v1/traces HTTP/1.1\r\nHost: x\r\n', 'X'));
    await assertServing();
    const answers = await Promise.all([...slowBodies, ...slowHeaders]);
    for (const a of answers) assert.ok(a === '' || /^HTTP\/1\.1 (408|400)/.test(a), `unexpected answer: ${a.slice(0, 60)}`);
    await assertServing();
  });

  test('compression bombs in protobuf (gzip and deflate, 1 GiB of zeros) are 413', async () => {
    const zeros = Buffer.alloc(64 * 1024 * 1024);
    for (const [enc, bomb] of [
      ['gzip', gzipSync(zeros, { level: 9 })],
      ['deflate', deflateSync(zeros, { level: 9 })],
    ] as const) {
      const r = await post(bomb, { 'content-encoding': enc });
      assert.equal(r.status, 413, enc);
      await r.arrayBuffer();
    }
    await assertServing();
  });

  test('a span with 100,000 attributes is taken whole or refused with a reason, and the process stays healthy', async () => {
    const attrs = Array.from({ length: 100_000 }, (_, i) => ld(9, ld(1, Buffer.from(`attr.${i}`)), ld(2, ld(1, Buffer.from(i % 97 === 0 ? 'mail me at jane@example.com' : `v${i}`)))));
    const body = request([minimalSpan(1, attrs)]);
    const r = await post(body);
    const answer = Buffer.from(await r.arrayBuffer());
    assert.ok([200, 400, 413].includes(r.status), `status ${r.status}`);
    if (r.status !== 200) assert.ok(answer.length > 4, 'a reason is given');
    await svc.flush();
    await assertServing();
  });

  test('a million spans in one request: over the body limit is 413 early; a million empty spans inside it are refused as malformed', async () => {
    // 1e6 minimal valid spans are ~40 MB, past the 20 MiB default: refused from Content-Length alone.
    const one = minimalSpan(0);
    const huge = Buffer.allocUnsafe(one.length * 1_000_000);
    for (let i = 0; i < 1_000_000; i++) one.copy(huge, i * one.length);
    const r1 = await post(request([huge]));
    assert.equal(r1.status, 413);
    await r1.arrayBuffer();
    // The same without Content-Length (chunked): cut off once the limit is read.
    const chunked = await fetch(`http://127.0.0.1:${port}/v1/traces`, {
      method: 'POST',
      headers: { 'content-type': 'application/x-protobuf' },
      body: new ReadableStream({
        start(c) {
          for (let off = 0; off < huge.length; off += 1 << 20) c.enqueue(huge.subarray(off, off + (1 << 20)));
          c.close();
        },
      }),
      duplex: 'half',
      signal: AbortSignal.timeout(60_000),
    } as RequestInit).catch((err: Error) => ({ status: 0, err, arrayBuffer: async () => new ArrayBuffer(0) }));
    assert.ok(chunked.status === 413 || chunked.status === 0, `chunked: ${chunked.status}`);
    await chunked.arrayBuffer();
    // A million empty spans (2 bytes each) fit in 2 MB: each is malformed (no ids) and counted back.
    const empties = request([Buffer.alloc(2_000_000, Buffer.from([0x12, 0x00]))]);
    const r2 = await post(empties);
    const answer = Buffer.from(await r2.arrayBuffer());
    assert.ok([200, 400].includes(r2.status), `status ${r2.status}`);
    assert.ok(answer.length < 64 * 1024, 'the answer is bounded (reasons are capped, not one per span)');
    await assertServing();
  });
});
