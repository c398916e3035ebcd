import { test } from 'node:test';
import assert from 'node:assert/strict';
import { appendFile, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pino } from 'pino';
import { canonicalJson, recordHash } from '../../approvals/log/chain.js';
import { JournalCorruptError, journalPath, openJournal } from '../../approvals/log/journal.js';
import { readJournalLines } from '../../approvals/log/lines.js';
import { GENESIS_HASH } from '../../approvals/log/types.js';
import { verifyChain } from '../../approvals/log/verify.js';
import type { ApprovalEvent } from '../../approvals/types.js';

const logger = pino({ level: 'silent' });

async function withDir(fn: (dir: string) => Promise<void>): Promise<void> {
  const dir = await mkdtemp(join(tmpdir(), 'sluice-journal-'));
  try {
    await fn(dir);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

async function writeEvents(dir: string, n: number): Promise<ApprovalEvent[]> {
  const log = await openJournal({ dir, logger });
  const out = await Promise.all(Array.from({ length: n }, (_, i) => log.append({ at: 1000 + i, type: 'opened', approvalId: `req-${i + 1}`, comment: `c${i + 1}`, data: { n: i + 1 } })));
  await log.close();
  return out;
}

async function lines(dir: string): Promise<string[]> {
  return (await readFile(journalPath(dir), 'utf8')).split('\n').filter(Boolean);
}

test('appends are chained, ordered, durable across reopen, and canonical on disk', async () => {
  await withDir(async (dir) => {
    const written = await writeEvents(dir, 20);
    assert.deepEqual(written.map((e) => e.seq), Array.from({ length: 20 }, (_, i) => i + 1));
    assert.equal(written[0]?.prevHash, GENESIS_HASH);
    for (let i = 1; i < written.length; i++) assert.equal(written[i]?.prevHash, written[i - 1]?.hash);
    for (const e of written) assert.equal(recordHash(e), e.hash);

    const onDisk = await lines(dir);
    assert.deepEqual(onDisk, written.map((e) => canonicalJson(e)));

    const log = await openJournal({ dir, logger });
    assert.deepEqual(log.head(), { seq: 20, hash: written[19]?.hash });
    const next = await log.append({ at: 5, type: 'expired', approvalId: 'req-1' });
    assert.equal(next.seq, 21);
    assert.equal(next.prevHash, written[19]?.hash);
    const all: ApprovalEvent[] = [];
    for await (const e of log.readAll()) all.push(e);
    assert.equal(all.length, 21);
    await log.close();
    assert.equal((await verifyChain(readJournalLines(journalPath(dir)))).ok, true);
  });
});

test('a bad event is refused alone; the others in its batch are stored', async () => {
  await withDir(async (dir) => {
    const log = await openJournal({ dir, logger });
    const [good, bad] = await Promise.allSettled([
      log.append({ at: 1, type: 'opened', approvalId: 'a' }),
      log.append({ at: 2, type: 'opened', approvalId: 'b', data: { n: 1n } }),
    ]);
    assert.equal(good.status === 'fulfilled' && good.value.seq, 1);
    assert.match(bad.status === 'rejected' ? String(bad.reason) : '', /bigint/);
    const after = await log.append({ at: 3, type: 'opened', approvalId: 'c' });
    assert.equal(after.seq, 2);
    await log.close();
  });
});

test('a torn last record (crash mid-write) is cut on open; earlier records are kept', async () => {
  await withDir(async (dir) => {
    const written = await writeEvents(dir, 5);
    const sixth = canonicalJson({ ...written[4], seq: 6, prevHash: written[4]?.hash });
    await appendFile(journalPath(dir), sixth.slice(0, 40)); // no newline: the write never finished
    const warnings: string[] = [];
    const log = await openJournal({ dir, logger: pino({ level: 'warn' }, { write: (s: string) => void warnings.push(s) }) });
    assert.equal(log.head().seq, 5);
    assert.match(warnings.join(''), /torn record/);
    const e = await log.append({ at: 9, type: 'denied', approvalId: 'req-5' });
    assert.equal(e.seq, 6);
    await log.close();
    const result = await verifyChain(readJournalLines(journalPath(dir)));
    assert.deepEqual([result.ok, result.count], [true, 6]);
  });
});

test('a torn tail of zero bytes (block allocated, data lost) is cut too', async () => {
  await withDir(async (dir) => {
    await writeEvents(dir, 3);
    await appendFile(journalPath(dir), Buffer.alloc(300));
    const log = await openJournal({ dir, logger });
    assert.equal(log.head().seq, 3);
    await log.close();
  });
});

test('damage before the last record refuses to open, naming the record', async () => {
  await withDir(async (dir) => {
    await writeEvents(dir, 4);
    const l = await lines(dir);
    l[1] = l[1]!.replace('"c2"', '"c2 edited"');
    await writeFile(journalPath(dir), l.join('\n') + '\n');
    await assert.rejects(openJournal({ dir, logger }), (err: unknown) => err instanceof JournalCorruptError && /seq 2: its content does not match its hash/.test(err.message));
  });
});

test('verify names the first altered, missing or reordered record', async () => {
  await withDir(async (dir) => {
    await writeEvents(dir, 6);
    const original = await lines(dir);
    const check = async (mutated: string[], want: RegExp) => {
      await writeFile(journalPath(dir), mutated.join('\n') + '\n');
      const r = await verifyChain(readJournalLines(journalPath(dir)));
      assert.equal(r.ok, false);
      assert.match(r.problem?.message ?? '', want);
    };
    // a field edited
    await check(original.map((l, i) => (i === 2 ? l.replace('"c3"', '"approved by nobody"') : l)), /^record seq 3: altered \(its content does not match its hash\)/);
    // a line deleted
    await check(original.filter((_, i) => i !== 3), /^record seq 4: missing \(seq 3 is followed by seq 5\)/);
    // two lines swapped
    const swapped = [...original];
    [swapped[1], swapped[2]] = [swapped[2]!, swapped[1]!];
    await check(swapped, /^record seq 3: out of order/);
    // a record edited and its own hash recomputed: the next record's link names it
    const rehashed = [...original];
    const rec = JSON.parse(rehashed[1]!) as ApprovalEvent;
    rec.comment = 'forged';
    rec.hash = recordHash(rec);
    rehashed[1] = canonicalJson(rec);
    await check(rehashed, /^record seq 2: altered \(its hash no longer matches the prevHash stored in seq 3\)/);
    // garbage in the middle
    await check(original.map((l, i) => (i === 4 ? '{not json' : l)), /^record seq 5: altered \(not valid JSON/);
    // intact
    await writeFile(journalPath(dir), original.join('\n') + '\n');
    const ok = await verifyChain(readJournalLines(journalPath(dir)));
    assert.deepEqual([ok.ok, ok.count, ok.headSeq], [true, 6, 6]);
  });
});

test('an append made right after the previous one resolved is written (no stalled queue)', async () => {
  await withDir(async (dir) => {
    const log = await openJournal({ dir, logger });
    // Each append is issued from the continuation of the last one's resolve: the tightest interleaving with the writer.
    let last: ApprovalEvent | undefined;
    for (let i = 0; i < 5; i++) last = await log.append({ at: i, type: 'opened', approvalId: `s${i}` });
    assert.equal(last?.seq, 5);
    const pending = log.append({ at: 9, type: 'opened', approvalId: 'late' });
    await log.close(); // appends accepted before close are still written
    assert.equal((await pending).seq, 6);
    assert.equal((await lines(dir)).length, 6);
  });
});
