// The embedded approval log: one append-only JSON-lines file,
// `<dataDir>/approvals/journal.jsonl`, hash-chained, durable (O_DSYNC write,
// or write + fdatasync where O_DSYNC does not exist) before any append
// resolves. Appends are serialised through one queue; appends that arrive in
// the same event-loop turn, or while a write is in flight, are written and
// synced together (group commit), so each is still durable before it is
// acknowledged while a burst costs one sync, not one per event.
import { constants } from 'node:fs';
import { mkdir, open, type FileHandle } from 'node:fs/promises';
import { join } from 'node:path';
import type { Logger } from 'pino';
import type { ApprovalEvent } from '../types.js';
import { canonicalJson, recordHash } from './chain.js';
import { readJournalLines, type JournalLine } from './lines.js';
import { lockDir, type DirLock } from '../../pipeline/dir-lock.js';
import { GENESIS_HASH, type ApprovalLog, type NewApprovalEvent } from './types.js';

export interface JournalOptions {
  /** Directory holding journal.jsonl (the service passes `<dataDir>/approvals`). */
  dir: string;
  logger: Logger;
  /** Most events written by one write + sync (default 512). */
  maxBatch?: number;
}

export class JournalCorruptError extends Error {
  constructor(
    readonly file: string,
    readonly seq: number,
    why: string,
  ) {
    super(`approval journal ${file} is damaged at record seq ${seq}: ${why}. Sluice will not append to a broken chain; run \`sluice audit verify --data <dir>\` and restore the file from a backup`);
    this.name = 'JournalCorruptError';
  }
}

interface Pending {
  event: NewApprovalEvent;
  resolve: (e: ApprovalEvent) => void;
  reject: (err: Error) => void;
}

export const JOURNAL_FILE = 'journal.jsonl';

export function journalPath(dir: string): string {
  return join(dir, JOURNAL_FILE);
}

/** Opens (creating if needed) the journal: checks the chain, cuts a torn last record, and is ready to append. */
export async function openJournal(opts: JournalOptions): Promise<JournalLog> {
  await mkdir(opts.dir, { recursive: true });
  const lock = lockDir(opts.dir, 'approval journal directory', 'one Sluice process per data directory (set service.data_dir or approvals.log.dir for another)');
  try {
    return await openLocked(opts, lock);
  } catch (err) {
    lock.release();
    throw err;
  }
}

async function openLocked(opts: JournalOptions, lock: DirLock): Promise<JournalLog> {
  const file = journalPath(opts.dir);
  let seq = 0;
  let hash = GENESIS_HASH;
  let goodEnd = 0;
  let torn: JournalLine | undefined;
  let lines = 0;
  for await (const line of readJournalLines(file)) {
    lines++;
    if (torn) throw new JournalCorruptError(file, seq + 1, `line ${torn.position} is ${torn.error ?? 'incomplete'} but more records follow it`);
    const rec = line.record;
    if (!rec || !line.terminated) {
      // Only acceptable as the very last line: a write cut short by a crash.
      torn = line;
      continue;
    }
    if (rec.seq !== seq + 1) throw new JournalCorruptError(file, seq + 1, `line ${line.position} holds seq ${String(rec.seq)}`);
    if (rec.prevHash !== hash) throw new JournalCorruptError(file, rec.seq, 'its prevHash does not link to the record before it');
    if (recordHash(rec) !== rec.hash) throw new JournalCorruptError(file, rec.seq, 'its content does not match its hash');
    seq = rec.seq;
    hash = rec.hash;
    goodEnd = line.end;
  }
  // O_DSYNC makes each write return only once its data is as durable as after
  // fdatasync: one trip through libuv's thread pool per commit instead of two,
  // which is what a commit waits for when the event loop is busy.
  const dsync = typeof constants.O_DSYNC === 'number' && constants.O_DSYNC > 0;
  const fh = await open(file, dsync ? constants.O_WRONLY | constants.O_APPEND | constants.O_CREAT | constants.O_DSYNC : 'a');
  if (torn) {
    await fh.truncate(goodEnd);
    await fh.datasync();
    opts.logger.warn({ file, keptRecords: seq, cutBytes: torn.end - goodEnd }, 'approval journal ended in a torn record (a crash mid-write); cut it, earlier records kept');
  }
  if (lines === 0) await syncDir(opts.dir);
  return new JournalLog(file, fh, seq, hash, goodEnd, opts, dsync, lock);
}

async function syncDir(dir: string): Promise<void> {
  // A new file's directory entry must be durable too, or a crash can lose the whole file.
  const d = await open(dir, 'r');
  try {
    await d.sync();
  } catch {
    // Some filesystems refuse fsync on a directory; the file itself is still synced.
  } finally {
    await d.close();
  }
}

export class JournalLog implements ApprovalLog {
  private queue: Pending[] = [];
  private writing: Promise<void> = Promise.resolve();
  private draining = false;
  private closed = false;
  private failure?: Error;

  constructor(
    readonly file: string,
    private readonly fh: FileHandle,
    private seq: number,
    private hash: string,
    private size: number,
    private readonly opts: JournalOptions,
    /** The file was opened with O_DSYNC: a finished write is already durable. */
    private readonly dsync = false,
    private readonly lock?: DirLock,
  ) {}

  head(): { seq: number; hash: string } {
    return { seq: this.seq, hash: this.hash };
  }

  append(event: NewApprovalEvent): Promise<ApprovalEvent> {
    if (this.closed) return Promise.reject(new Error('approval journal is closed'));
    if (this.failure) return Promise.reject(new Error(`approval journal failed earlier and accepts no more events: ${this.failure.message}`));
    return new Promise((resolve, reject) => {
      this.queue.push({ event, resolve, reject });
      if (!this.draining) {
        this.draining = true;
        this.writing = this.drain();
      }
    });
  }

  async *readAll(): AsyncIterable<ApprovalEvent> {
    // Only what is durable: a write in flight is not read.
    for await (const line of readJournalLines(this.file, this.size)) if (line.record) yield line.record;
  }

  async close(): Promise<void> {
    this.closed = true;
    // Appends accepted before close are still written.
    while (this.draining) await this.writing;
    await this.fh.close();
    this.lock?.release();
  }

  // `draining` must drop in the same tick the queue is seen empty: an append
  // made by a caller woken by the last resolve() must start a new drain.
  private async drain(): Promise<void> {
    try {
      await this.drainQueue();
    } finally {
      this.draining = false;
      if (this.queue.length > 0) {
        this.draining = true;
        this.writing = this.drain();
      }
    }
  }

  private async drainQueue(): Promise<void> {
    // Appends made in this same turn of the event loop (a batch of spans opening
    // requests together, a burst of decision requests read in one poll) join
    // the first write instead of waiting for its sync. Starting the write at
    // once (after a microtask) was measured too: more, smaller commits, more
    // CPU per request, and worse p99 in bench/approvals.ts (see RESULTS.md).
    await new Promise<void>((r) => setImmediate(r));
    while (this.queue.length > 0) {
      const taken = this.queue.splice(0, this.opts.maxBatch ?? 512);
      const batch: Pending[] = [];
      let seq = this.seq;
      let prev = this.hash;
      const records: ApprovalEvent[] = [];
      const lines: string[] = [];
      for (const p of taken) {
        try {
          const rec = { ...p.event, seq: seq + 1, prevHash: prev } as ApprovalEvent;
          rec.hash = recordHash(rec);
          const line = canonicalJson(rec) + '\n';
          seq++;
          prev = rec.hash;
          records.push(rec);
          lines.push(line);
          batch.push(p);
        } catch (err) {
          // A caller's bad event (e.g. a bigint in data) must not take the others down with it.
          p.reject(err as Error);
        }
      }
      if (batch.length === 0) continue;
      const buf = Buffer.from(lines.join(''), 'utf8');
      try {
        let off = 0;
        while (off < buf.length) off += (await this.fh.write(buf, off, buf.length - off)).bytesWritten;
        if (!this.dsync) await this.fh.datasync();
      } catch (err) {
        await this.rollback(err as Error);
        for (const p of batch) p.reject(new Error(`approval event not stored: ${(err as Error).message}`));
        continue;
      }
      this.seq = seq;
      this.hash = prev;
      this.size += buf.length;
      for (let i = 0; i < batch.length; i++) (batch[i] as Pending).resolve(records[i] as ApprovalEvent);
    }
  }

  /** Cuts a partial write so the file ends on the last durable record; if even that fails, refuse further appends. */
  private async rollback(err: Error): Promise<void> {
    try {
      await this.fh.truncate(this.size);
      await this.fh.datasync();
      this.opts.logger.error({ err: err.message, file: this.file }, 'approval journal write failed; the events were refused and the file cut back');
    } catch (err2) {
      this.failure = err;
      this.opts.logger.fatal({ err: err.message, truncateErr: (err2 as Error).message, file: this.file }, 'approval journal write failed and could not be cut back; refusing further appends');
    }
  }
}
