// One process per directory of local state: the approval journal and the disk
// queue refuse a directory a live process holds, take over one whose process
// is gone, and give it back on close.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import pino from 'pino';
import { journalPath, openJournal } from '../../approvals/log/journal.js';
import { lockDir } from '../../pipeline/dir-lock.js';

const logger = pino({ level: 'silent' });
const fresh = () => mkdtempSync(join(tmpdir(), 'sluice-lock-'));
// A pid that was used and is gone (the child has exited and been reaped).
const gonePid = () => spawnSync(process.execPath, ['-e', '']).pid!;

test('lockDir: a live holder is refused with its pid, a gone one is taken over, the same process may take it again', () => {
  const dir = fresh();
  writeFileSync(join(dir, 'LOCK'), String(process.ppid));
  assert.throws(() => lockDir(dir, 'thing', 'hint'), new RegExp(`^Error: thing ${dir} is in use by process ${process.ppid}; hint$`));
  assert.equal(readFileSync(join(dir, 'LOCK'), 'utf8'), String(process.ppid), "the holder's LOCK is left alone");

  writeFileSync(join(dir, 'LOCK'), String(gonePid()));
  const lock = lockDir(dir, 'thing', 'hint');
  assert.equal(readFileSync(join(dir, 'LOCK'), 'utf8'), String(process.pid));
  lockDir(dir, 'thing', 'hint'); // again, same process
  lock.release();
  assert.equal(existsSync(join(dir, 'LOCK')), false);

  // release() never removes a LOCK another process took meanwhile.
  const mine = lockDir(dir, 'thing', 'hint');
  writeFileSync(join(dir, 'LOCK'), String(process.ppid));
  mine.release();
  assert.equal(readFileSync(join(dir, 'LOCK'), 'utf8'), String(process.ppid));
});

test('approval journal: a directory another live Sluice holds is refused before anything is appended; closing gives it back', async () => {
  const dir = fresh();
  const first = await openJournal({ dir, logger });
  await first.append({ at: 1, type: 'opened', approvalId: 'req-1' });
  await first.close();
  assert.equal(existsSync(join(dir, 'LOCK')), false, 'closed: LOCK removed');
  const before = await readFile(journalPath(dir), 'utf8');

  writeFileSync(join(dir, 'LOCK'), String(process.ppid));
  await assert.rejects(openJournal({ dir, logger }), /approval journal directory .* is in use by process \d+; one Sluice process per data directory/);
  assert.equal(await readFile(journalPath(dir), 'utf8'), before);

  // The holder died (kill -9 leaves its LOCK): the next start takes over and continues the chain.
  writeFileSync(join(dir, 'LOCK'), String(gonePid()));
  const again = await openJournal({ dir, logger });
  assert.equal(again.head().seq, 1);
  await again.close();
  await rm(dir, { recursive: true, force: true });
});
