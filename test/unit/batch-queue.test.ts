// The batch processor's queue, memory and disk: bounded, ordered, and (disk)
// kept across a crash with a torn tail cut, committed records never replayed.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { appendFile, mkdtemp, readdir, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pino from 'pino';
import { QueueFullError, type Consumer } from '../../pipeline/component.js';
import type { Batch, TraceBatch } from '../../pipeline/model.js';
import { createBatchProcessor } from '../../processors/batch/batch.js';
import { batchConfigSchema } from '../../processors/batch/config.js';
import { DiskQueue } from '../../processors/batch/disk-queue.js';
import { makeSpan, traceBatchOf } from '../helpers/model.js';

const logger = pino({ level: 'silent' });
const config = (over: Record<string, unknown> = {}) => batchConfigSchema.parse({ timeout: '1ms', send_batch_size: 1, ...over });
const spanIds = (b: Batch) => (b as TraceBatch).resourceSpans.flatMap((rs) => rs.scopeSpans.flatMap((ss) => ss.spans.map((s) => s.spanId)));
const batchOf = (...ids: number[]) => traceBatchOf(ids.map((i) => makeSpan({ spanId: i.toString(16).padStart(16, '0'), name: `span-${i}` })));

/** A next stage that records what it got and can be held (an exporter that is down). */
function recorder() {
  const got: string[] = [];
  let gate: Promise<void> = Promise.resolve();
  let open = () => {};
  const next: Consumer = {
    async consume(b) {
      await gate;
      got.push(...spanIds(b));
    },
  };
  return {
    next,
    got,
    hold() {
      gate = new Promise<void>((r) => (open = r));
    },
    release: () => open(),
  };
}

async function tempDir() {
  return mkdtemp(join(tmpdir(), 'sluice-queue-'));
}

test('memory queue: bounded in items, in order, drained at shutdown', async () => {
  const r = recorder();
  r.hold();
  const p = createBatchProcessor(config({ queue_size: 3 }), r.next);
  await p.start!();
  await p.consume(batchOf(1));
  await p.consume(batchOf(2, 3));
  await assert.rejects(p.consume(batchOf(4)), QueueFullError);
  r.release();
  await p.shutdown!();
  assert.deepEqual(r.got, ['0000000000000001', '0000000000000002', '0000000000000003']);
});

test('memory queue: bounded in estimated bytes too; a full queue frees up once exported', async () => {
  const big = (id: number) =>
    traceBatchOf([makeSpan({ spanId: id.toString(16).padStart(16, '0'), attributes: [{ key: 'gen_ai.prompt', value: 'x'.repeat(400_000) }] })]);
  const r = recorder();
  r.hold();
  const p = createBatchProcessor(config({ queue_max_bytes: '1MiB' }), r.next);
  await p.start!();
  await p.consume(big(1));
  await p.consume(big(2));
  // 2 items of 200,000 allowed, but ~800 KB queued: a third 400 KB span does not fit.
  await assert.rejects(p.consume(big(3)), (err: Error) => err instanceof QueueFullError && /MiB/.test(err.message));
  await p.consume(batchOf(4)); // a small one still fits
  r.release();
  await p.drain();
  await p.consume(big(5));
  await p.shutdown!();
  assert.deepEqual(r.got, ['0000000000000001', '0000000000000002', '0000000000000004', '0000000000000005']);
});

test('memory queue: refuses() says ahead of reading when a typical request no longer fits, and stops once there is room', async () => {
  const r = recorder();
  r.hold();
  const p = createBatchProcessor(config({ queue_size: 6, retry_after: 4 }), r.next);
  await p.start!();
  assert.equal(p.refuses!(), undefined, 'an empty queue takes anything');
  await p.consume(batchOf(1, 2));
  assert.equal(p.refuses!(), undefined, '2 of 6 queued, typical request 2: room');
  await p.consume(batchOf(3, 4));
  await p.consume(batchOf(5));
  // 5 of 6 queued; typical request about 2 items: turned away before it is read.
  const full = p.refuses!();
  assert.ok(full instanceof QueueFullError && full.retryAfterSeconds === 4 && /5 of 6/.test(full.message), String(full));
  await p.consume(batchOf(6)); // consume() still takes what fits
  r.release();
  await p.drain();
  assert.equal(p.refuses!(), undefined, 'room again once exported');
  await p.shutdown!();
  assert.ok(p.refuses!() instanceof QueueFullError, 'shutting down');
});

test('memory queue: one oversized request is still taken when the queue is empty', async () => {
  const r = recorder();
  const p = createBatchProcessor(config({ queue_max_bytes: 1000 }), r.next);
  await p.start!();
  await p.consume(traceBatchOf([makeSpan({ attributes: [{ key: 'k', value: 'y'.repeat(10_000) }] })]));
  await p.shutdown!();
  assert.equal(r.got.length, 1);
});

test('disk queue: what was accepted and not exported replays after a crash; what was exported does not', async () => {
  const dir = await tempDir();
  const r1 = recorder();
  const p1 = createBatchProcessor(config(), r1.next, { disk: new DiskQueue({ dir, maxBytes: 1 << 20, retryAfter: 1, logger }), logger });
  await p1.start!();
  await p1.consume(batchOf(1, 2));
  await p1.drain();
  assert.deepEqual(r1.got, ['0000000000000001', '0000000000000002']);
  r1.hold();
  await p1.consume(batchOf(3));
  await p1.consume(batchOf(4, 5));
  // "Crash": p1 is abandoned without shutdown, its exporter stuck.
  const r2 = recorder();
  const p2 = createBatchProcessor(config(), r2.next, { disk: new DiskQueue({ dir, maxBytes: 1 << 20, retryAfter: 1, logger }), logger });
  await p2.start!();
  await p2.drain();
  assert.deepEqual(r2.got, ['0000000000000003', '0000000000000004', '0000000000000005']);
  await p2.shutdown!();
  // A third start has nothing left to replay.
  const r3 = recorder();
  const p3 = createBatchProcessor(config(), r3.next, { disk: new DiskQueue({ dir, maxBytes: 1 << 20, retryAfter: 1, logger }), logger });
  await p3.start!();
  await p3.drain();
  await p3.shutdown!();
  assert.deepEqual(r3.got, []);
  await rm(dir, { recursive: true, force: true });
});

test('disk queue: a torn tail is cut and the whole records before it replay', async () => {
  const dir = await tempDir();
  const r1 = recorder();
  r1.hold();
  const q1 = new DiskQueue({ dir, maxBytes: 1 << 20, retryAfter: 1, logger });
  const p1 = createBatchProcessor(config(), r1.next, { disk: q1, logger });
  await p1.start!();
  await p1.consume(batchOf(7));
  await p1.consume(batchOf(8));
  const seg = (await readdir(dir)).filter((f) => f.endsWith('.seg')).sort().pop()!;
  const whole = (await stat(join(dir, seg))).size;
  // Half a record: a header promising 4 KiB and a few bytes of it.
  const torn = Buffer.alloc(40, 0xab);
  torn.writeUInt32LE(4096, 0);
  await appendFile(join(dir, seg), torn);
  const r2 = recorder();
  const p2 = createBatchProcessor(config(), r2.next, { disk: new DiskQueue({ dir, maxBytes: 1 << 20, retryAfter: 1, logger }), logger });
  await p2.start!();
  await p2.drain();
  assert.deepEqual(r2.got, ['0000000000000007', '0000000000000008']);
  assert.equal((await stat(join(dir, seg))).size, whole, 'the torn bytes were cut');
  await p2.shutdown!();
  await rm(dir, { recursive: true, force: true });
});

test('disk queue: a flipped bit fails the checksum and stops the replay of that segment there', async () => {
  const dir = await tempDir();
  const r1 = recorder();
  r1.hold();
  const p1 = createBatchProcessor(config(), r1.next, { disk: new DiskQueue({ dir, maxBytes: 1 << 20, retryAfter: 1, logger }), logger });
  await p1.start!();
  await p1.consume(batchOf(1));
  await p1.consume(batchOf(2));
  const seg = join(dir, (await readdir(dir)).filter((f) => f.endsWith('.seg')).sort().pop()!);
  const buf = await readFile(seg);
  const secondStart = buf.readUInt32LE(0) + 9;
  buf[secondStart + 20] ^= 0x01;
  await writeFile(seg, buf);
  const r2 = recorder();
  const p2 = createBatchProcessor(config(), r2.next, { disk: new DiskQueue({ dir, maxBytes: 1 << 20, retryAfter: 1, logger }), logger });
  await p2.start!();
  await p2.drain();
  assert.deepEqual(r2.got, ['0000000000000001']);
  await p2.shutdown!();
  await rm(dir, { recursive: true, force: true });
});

test('disk queue: max_bytes bounds unexported data; full answers QueueFullError and frees up after export', async () => {
  const dir = await tempDir();
  const r = recorder();
  r.hold();
  const record = 9 + 120; // roughly one one-span batch; the bound below fits two or three
  const p = createBatchProcessor(config(), r.next, { disk: new DiskQueue({ dir, maxBytes: record * 3, retryAfter: 4, logger }), logger });
  await p.start!();
  const accepted: number[] = [];
  let refused: QueueFullError | undefined;
  for (let i = 1; i <= 10 && !refused; i++) {
    try {
      await p.consume(batchOf(i));
      accepted.push(i);
    } catch (err) {
      refused = err as QueueFullError;
    }
  }
  assert.ok(refused instanceof QueueFullError, 'refused once full');
  assert.equal(refused.retryAfterSeconds, 4);
  assert.match(refused.message, /disk queue full/);
  assert.ok(accepted.length >= 1 && accepted.length < 10);
  r.release();
  await p.drain();
  await p.consume(batchOf(99));
  await p.shutdown!();
  assert.deepEqual(r.got, [...accepted, 99].map((i) => i.toString(16).padStart(16, '0')));
  await rm(dir, { recursive: true, force: true });
});

test('disk queue: segments rotate and are deleted once exported; concurrent appends keep their order', async () => {
  const dir = await tempDir();
  const r = recorder();
  const p = createBatchProcessor(config({ send_batch_size: 50 }), r.next, {
    disk: new DiskQueue({ dir, maxBytes: 1 << 24, segmentBytes: 2048, retryAfter: 1, logger }),
    logger,
  });
  await p.start!();
  await Promise.all(Array.from({ length: 200 }, (_, i) => p.consume(batchOf(i + 1))));
  await p.drain();
  assert.deepEqual(r.got, Array.from({ length: 200 }, (_, i) => (i + 1).toString(16).padStart(16, '0')));
  await p.shutdown!();
  const segs = (await readdir(dir)).filter((f) => f.endsWith('.seg'));
  assert.ok(segs.length <= 1, `exported segments are deleted (left: ${segs.join(', ')})`);
  await rm(dir, { recursive: true, force: true });
});

/** A next stage whose sends finish only when the test says, each on its own. */
function manualConsumer() {
  const sends: Array<{ ids: string[]; finish: () => void }> = [];
  const finished: string[] = [];
  const next: Consumer = {
    consume(b) {
      const ids = spanIds(b);
      return new Promise<void>((resolve) => sends.push({ ids, finish: () => (finished.push(...ids), resolve()) }));
    },
  };
  return { next, sends, finished };
}

const until = async (cond: () => boolean) => {
  for (let i = 0; i < 500 && !cond(); i++) await new Promise((r) => setTimeout(r, 2));
  assert.ok(cond(), 'condition reached');
};

test('num_consumers: two batches are sent at once, a third waits for one of them', async () => {
  const c = manualConsumer();
  const p = createBatchProcessor(config({ num_consumers: 2 }), c.next);
  await p.start!();
  for (const i of [1, 2, 3]) await p.consume(batchOf(i));
  await until(() => c.sends.length === 2);
  await new Promise((r) => setTimeout(r, 20));
  assert.equal(c.sends.length, 2, 'the third batch waits');
  c.sends[1]!.finish();
  await until(() => c.sends.length === 3);
  c.sends[0]!.finish();
  c.sends[2]!.finish();
  await p.shutdown!();
  assert.deepEqual(c.finished, ['0000000000000002', '0000000000000001', '0000000000000003']);
  assert.equal(p.depth(), 0);
});

test('num_consumers: the disk pointer moves in the order batches were taken, not finished', async () => {
  const dir = await tempDir();
  const c = manualConsumer();
  const p1 = createBatchProcessor(config({ num_consumers: 2 }), c.next, { disk: new DiskQueue({ dir, maxBytes: 1 << 20, retryAfter: 1, logger }), logger });
  await p1.start!();
  await p1.consume(batchOf(1));
  await p1.consume(batchOf(2));
  await until(() => c.sends.length === 2);
  // The later batch is written first; the earlier one is still being written at the "crash".
  c.sends[1]!.finish();
  await new Promise((r) => setTimeout(r, 20));
  const r2 = recorder();
  const p2 = createBatchProcessor(config(), r2.next, { disk: new DiskQueue({ dir, maxBytes: 1 << 20, retryAfter: 1, logger }), logger });
  await p2.start!();
  await p2.drain();
  await p2.shutdown!();
  // Batch 1 was never written, so it replays (with 2 after it: at least once).
  assert.deepEqual(r2.got, ['0000000000000001', '0000000000000002']);
  await rm(dir, { recursive: true, force: true });
});

test('disk queue: a directory held by another live process is refused with the reason', async () => {
  const dir = await tempDir();
  await writeFile(join(dir, 'LOCK'), String(process.ppid));
  const q = new DiskQueue({ dir, maxBytes: 1 << 20, retryAfter: 1, logger });
  await assert.rejects(q.open(), /in use by process \d+; give each Sluice process its own queue dir/);
  await rm(dir, { recursive: true, force: true });
});

test('queue config: memory by default, disk with a size', () => {
  assert.equal(config().queue.type, 'memory');
  const c = config({ queue: { type: 'disk', max_bytes: '64MiB' } });
  assert.equal(c.queue.max_bytes, 64 * 1024 * 1024);
  assert.throws(() => config({ queue: { type: 'tape' } }));
});
