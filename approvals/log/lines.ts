// Streams a JSON-lines file as records with their byte offsets, so a torn
// tail can be cut at the exact end of the last whole record.
import { open } from 'node:fs/promises';
import type { ApprovalEvent } from '../types.js';
import type { StoredRecord } from './verify.js';

export interface JournalLine extends StoredRecord {
  /** Byte offset just past this line's newline (or past its last byte if it has none). */
  end: number;
  /** False for a last line with no newline: a write that did not finish. */
  terminated: boolean;
}

export async function* readJournalLines(path: string, limit = Infinity): AsyncGenerator<JournalLine> {
  let fh;
  try {
    fh = await open(path, 'r');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return;
    throw err;
  }
  try {
    const chunk = Buffer.allocUnsafe(1 << 16);
    let carry: Buffer = Buffer.alloc(0);
    let offset = 0;
    let position = 0;
    for (;;) {
      const want = Math.min(chunk.length, limit - offset - carry.length);
      const { bytesRead } = want > 0 ? await fh.read(chunk, 0, want, offset + carry.length) : { bytesRead: 0 };
      if (bytesRead === 0) break;
      let buf = carry.length ? Buffer.concat([carry, chunk.subarray(0, bytesRead)]) : chunk.subarray(0, bytesRead);
      let start = 0;
      for (let nl = buf.indexOf(10, start); nl >= 0; nl = buf.indexOf(10, start)) {
        offset += nl + 1 - start;
        yield parseLine(buf.subarray(start, nl), ++position, offset, true);
        start = nl + 1;
      }
      buf = buf.subarray(start);
      carry = Buffer.from(buf);
    }
    if (carry.length > 0) yield parseLine(carry, ++position, offset + carry.length, false);
  } finally {
    await fh.close();
  }
}

function parseLine(bytes: Buffer, position: number, end: number, terminated: boolean): JournalLine {
  try {
    const record = JSON.parse(bytes.toString('utf8')) as ApprovalEvent;
    if (record === null || typeof record !== 'object') return { position, end, terminated, error: 'not a JSON object' };
    return { position, end, terminated, record };
  } catch {
    return { position, end, terminated, error: 'not valid JSON' };
  }
}
