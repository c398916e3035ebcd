// The write-ahead log behind `queue: { type: disk }`, after the collector's
// persistent queue: every accepted batch is appended as one record and
// fsync'd before the client is answered, a committed read pointer advances
// only once the export stage has written the records before it, and whatever
// lies past the pointer is replayed on start. Crash consistency rests on three
// things: records carry a CRC so a torn tail (kill -9 mid-write) is detected
// and cut, the pointer is replaced by rename, and a segment is deleted only
// once the pointer has moved past it. Delivery is at-least-once: a crash
// between an export and the pointer's update replays that batch.
import { mkdir, open, readdir, readFile, rename, rm, stat, truncate, writeFile, type FileHandle } from 'node:fs/promises';
import { join } from 'node:path';
import { crc32 } from 'node:zlib';
import type { Logger } from 'pino';
import { QueueFullError } from '../../pipeline/component.js';
import { lockDir, type DirLock } from '../../pipeline/dir-lock.js';
import { countItems, type Batch } from '../../pipeline/model.js';
import { decodeLogs, decodeTraces } from '../../pipeline/otlp/decode-protobuf.js';
import { encodeLogs, encodeTraces } from '../../pipeline/otlp/encode-protobuf.js';

/** Where a record ends: the pointer value that commits it and everything before it. */
export interface Position {
  segment: number;
  offset: number;
}

export interface Replayed {
  batch: Batch;
  items: number;
  bytes: number;
  end: Position;
}

export interface DiskQueueOptions {
  dir: string;
  maxBytes: number;
  /** A new segment file is started once the current one is this large. */
  segmentBytes?: number;
  retryAfter: number;
  logger: Logger;
}

// Record: u32 payload length | u32 CRC-32 of (signal byte + payload) | u8 signal | payload (OTLP protobuf).
const HEADER = 9;
const SIGNAL_TRACES = 1;
const SIGNAL_LOGS = 2;
/** A length past this is garbage, not a record (bounds what a corrupt header can make us allocate). */
const MAX_RECORD = 1024 ** 3;
const SEGMENT_RE = /^(\d{16})\.seg$/;
const segmentName = (n: number) => `${String(n).padStart(16, '0')}.seg`;

interface Pending {
  record: Buffer;
  bytes: number;
  onDurable: (end: Position, bytes: number) => void;
  resolve: () => void;
  reject: (err: Error) => void;
}

export function encodeRecord(batch: Batch): Buffer {
  const payload = batch.signal === 'traces' ? encodeTraces(batch) : encodeLogs(batch);
  const record = Buffer.allocUnsafe(HEADER + payload.length);
  record.writeUInt32LE(payload.length, 0);
  record[8] = batch.signal === 'traces' ? SIGNAL_TRACES : SIGNAL_LOGS;
  payload.copy(record, HEADER);
  record.writeUInt32LE(crc32(record.subarray(8)), 4);
  return record;
}

/** Records of one segment from `from`; stops at the first torn or corrupt one and says where. */
export function readRecords(buf: Buffer, from: number): { records: Array<{ signal: number; payload: Buffer; end: number }>; validEnd: number } {
  const records: Array<{ signal: number; payload: Buffer; end: number }> = [];
  let at = from;
  while (at + HEADER <= buf.length) {
    const len = buf.readUInt32LE(at);
    if (len > MAX_RECORD || at + HEADER + len > buf.length) break;
    const body = buf.subarray(at + 8, at + HEADER + len);
    if (crc32(body) !== buf.readUInt32LE(at + 4)) break;
    const signal = body[0] as number;
    if (signal !== SIGNAL_TRACES && signal !== SIGNAL_LOGS) break;
    at += HEADER + len;
    records.push({ signal, payload: body.subarray(1), end: at });
  }
  return { records, validEnd: at };
}

export class DiskQueue {
  private readonly segmentBytes: number;
  private fh: FileHandle | undefined;
  private segment = 0;
  private writeOffset = 0;
  private committed: Position = { segment: 0, offset: 0 };
  /** Bytes appended (or being appended) and not yet committed: what max_bytes bounds. */
  private pendingBytes = 0;
  private queue: Pending[] = [];
  private flushing: Promise<void> | undefined;
  private failed: Error | undefined;
  private dirLock?: DirLock;
  private closed = false;

  constructor(private readonly o: DiskQueueOptions) {
    this.segmentBytes = o.segmentBytes ?? Math.max(1024 * 1024, Math.min(64 * 1024 * 1024, Math.floor(o.maxBytes / 8)));
  }

  /** Takes the directory, cuts a torn tail, and returns what was accepted but not yet exported, in order. */
  async open(): Promise<Replayed[]> {
    await mkdir(this.o.dir, { recursive: true });
    this.dirLock = lockDir(this.o.dir, 'disk queue directory', 'give each Sluice process its own queue dir');
    this.committed = await this.readCursor();
    const segments = (await readdir(this.o.dir))
      .map((f) => SEGMENT_RE.exec(f))
      .filter((m): m is RegExpExecArray => m !== null)
      .map((m) => Number(m[1]))
      .sort((a, b) => a - b);
    const replayed: Replayed[] = [];
    for (const seg of segments) {
      const path = join(this.o.dir, segmentName(seg));
      if (seg < this.committed.segment) {
        // Fully committed; a crash came between moving the pointer and deleting the file.
        await rm(path, { force: true });
        continue;
      }
      const buf = await readFile(path);
      const from = seg === this.committed.segment ? Math.min(this.committed.offset, buf.length) : 0;
      const { records, validEnd } = readRecords(buf, from);
      if (validEnd < buf.length) {
        // A torn tail is normal after kill -9 in the last segment (the client was never answered for it).
        const last = seg === segments[segments.length - 1];
        const log = last ? this.o.logger.warn.bind(this.o.logger) : this.o.logger.error.bind(this.o.logger);
        log({ segment: segmentName(seg), offset: validEnd, cutBytes: buf.length - validEnd }, last ? 'disk queue: torn tail cut' : 'disk queue: corrupt record; the rest of this segment is skipped');
        await truncate(path, validEnd);
      }
      for (const r of records) {
        const decoded = r.signal === SIGNAL_TRACES ? decodeTraces(r.payload) : decodeLogs(r.payload);
        const items = countItems(decoded.batch);
        const bytes = HEADER + r.payload.length;
        replayed.push({ batch: decoded.batch, items, bytes, end: { segment: seg, offset: r.end } });
        this.pendingBytes += bytes;
      }
    }
    // New appends always go to a fresh segment, so replayed files are never written again.
    this.segment = (segments[segments.length - 1] ?? this.committed.segment) + 1;
    await this.openSegment();
    if (replayed.length) {
      this.o.logger.info({ batches: replayed.length, items: replayed.reduce((s, r) => s + r.items, 0), bytes: this.pendingBytes }, 'disk queue: replaying accepted data');
    }
    return replayed;
  }

  /** Bytes accepted and not yet exported. */
  bytes(): number {
    return this.pendingBytes;
  }

  /**
   * Appends a record; resolves once it is on disk (fsync'd). `onDurable` runs
   * synchronously at that moment and in append order, so the caller's memory
   * queue keeps the log's order. Concurrent appends share one write and one fsync.
   */
  append(batch: Batch, onDurable: (end: Position, bytes: number) => void): Promise<void> {
    if (this.failed) return Promise.reject(new QueueFullError(`disk queue unavailable: ${this.failed.message}`, this.o.retryAfter));
    if (this.closed) return Promise.reject(new QueueFullError('sluice is shutting down', this.o.retryAfter));
    const record = encodeRecord(batch);
    // One request larger than the whole budget is still taken when the log is empty, as the memory queue does.
    if (this.pendingBytes > 0 && this.pendingBytes + record.length > this.o.maxBytes) {
      return Promise.reject(new QueueFullError(`disk queue full (${this.pendingBytes} of ${this.o.maxBytes} bytes)`, this.o.retryAfter));
    }
    this.pendingBytes += record.length;
    return new Promise<void>((resolve, reject) => {
      this.queue.push({ record, bytes: record.length, onDurable, resolve, reject });
      this.flushing ??= this.flushLoop();
    });
  }

  private async flushLoop(): Promise<void> {
    while (this.queue.length) {
      const group = this.queue.splice(0);
      try {
        if (this.writeOffset > 0 && this.writeOffset >= this.segmentBytes) await this.rotate();
        const fh = this.fh as FileHandle;
        const buffers = group.map((p) => p.record);
        const total = group.reduce((s, p) => s + p.bytes, 0);
        let written = 0;
        while (written < total) {
          // writev may write less than asked; continue from where it stopped.
          const { bytesWritten } = await fh.writev(sliceFrom(buffers, written), this.writeOffset + written);
          written += bytesWritten;
        }
        await fh.datasync();
        let at = this.writeOffset;
        this.writeOffset += total;
        for (const p of group) {
          at += p.bytes;
          p.onDurable({ segment: this.segment, offset: at }, p.bytes);
          p.resolve();
        }
      } catch (err) {
        // A failed write or fsync leaves the file's tail unknown: stop taking
        // data (clients get 503 and keep it) rather than acknowledge what may be lost.
        this.failed = err as Error;
        this.o.logger.error({ err: (err as Error).message, dir: this.o.dir }, 'disk queue write failed; refusing new data');
        for (const p of [...group, ...this.queue.splice(0)]) {
          this.pendingBytes -= p.bytes;
          p.reject(new QueueFullError(`disk queue unavailable: ${(err as Error).message}`, this.o.retryAfter));
        }
      }
    }
    this.flushing = undefined;
  }

  /** Everything up to `end` is exported: move the pointer there and delete segments behind it. */
  async commit(end: Position, bytes: number): Promise<void> {
    this.pendingBytes -= bytes;
    this.committed = end;
    const tmp = join(this.o.dir, 'cursor.tmp');
    const cursor = Buffer.alloc(16);
    cursor.writeBigUInt64LE(BigInt(end.segment), 0);
    cursor.writeBigUInt64LE(BigInt(end.offset), 8);
    // No fsync: a cursor lost to a power cut only replays (duplicates), never loses.
    await writeFile(tmp, cursor);
    await rename(tmp, join(this.o.dir, 'cursor'));
    for (const f of await readdir(this.o.dir)) {
      const m = SEGMENT_RE.exec(f);
      if (m && Number(m[1]) < end.segment) await rm(join(this.o.dir, f), { force: true });
    }
  }

  /** Waits for appends under way. */
  async settle(): Promise<void> {
    while (this.flushing) await this.flushing;
  }

  async close(): Promise<void> {
    this.closed = true;
    await this.flushing;
    await this.fh?.close();
    this.fh = undefined;
    this.dirLock?.release();
  }

  private async rotate(): Promise<void> {
    await this.fh?.close();
    this.segment++;
    await this.openSegment();
  }

  private async openSegment(): Promise<void> {
    this.fh = await open(join(this.o.dir, segmentName(this.segment)), 'a+');
    this.writeOffset = (await stat(join(this.o.dir, segmentName(this.segment)))).size;
    // The new file's directory entry must survive a crash too.
    await fsyncDir(this.o.dir);
  }

  private async readCursor(): Promise<Position> {
    try {
      const buf = await readFile(join(this.o.dir, 'cursor'));
      if (buf.length !== 16) return { segment: 0, offset: 0 };
      return { segment: Number(buf.readBigUInt64LE(0)), offset: Number(buf.readBigUInt64LE(8)) };
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') return { segment: 0, offset: 0 };
      throw err;
    }
  }
}

function sliceFrom(buffers: Buffer[], skip: number): Buffer[] {
  if (skip === 0) return buffers;
  const out: Buffer[] = [];
  for (const b of buffers) {
    if (skip >= b.length) {
      skip -= b.length;
      continue;
    }
    out.push(skip ? b.subarray(skip) : b);
    skip = 0;
  }
  return out;
}

async function fsyncDir(dir: string): Promise<void> {
  const fh = await open(dir, 'r');
  await fh.sync().finally(() => fh.close());
}
