// Walks a hash chain and names the first record that was altered, removed or
// reordered. The same walk serves the journal file and the ClickHouse copy.
import type { ApprovalEvent } from '../types.js';
import { GENESIS_HASH } from './types.js';
import { recordHash } from './chain.js';

/** One stored record as read back: parsed, or the reason it could not be. */
export interface StoredRecord {
  /** 1-based line number (journal) or row number (ClickHouse). */
  position: number;
  record?: ApprovalEvent;
  error?: string;
}

export type ChainProblemKind = 'altered' | 'missing' | 'out of order';

export interface ChainProblem {
  kind: ChainProblemKind;
  /** The seq of the record named (for an unreadable record: the seq it should have had). */
  seq: number;
  position: number;
  message: string;
}

export interface VerifyResult {
  ok: boolean;
  count: number;
  headSeq: number;
  headHash: string;
  problem?: ChainProblem;
}

export interface VerifyOptions {
  /** Skip an exact repeat of the previous record (an at-least-once copy such as ClickHouse may hold one). */
  allowDuplicates?: boolean;
}

export async function verifyChain(source: AsyncIterable<StoredRecord> | Iterable<StoredRecord>, opts: VerifyOptions = {}): Promise<VerifyResult> {
  // Held in memory so that a gap can be told apart from a reorder by looking ahead.
  const items: StoredRecord[] = [];
  for await (const r of source) items.push(r);
  const laterSeqs = new Set<number>();
  for (const it of items) if (it.record && typeof it.record.seq === 'number') laterSeqs.add(it.record.seq);

  let expected = 1;
  let prevHash = GENESIS_HASH;
  let count = 0;
  const fail = (kind: ChainProblemKind, seq: number, position: number, why: string): VerifyResult => ({
    ok: false,
    count,
    headSeq: expected - 1,
    headHash: prevHash,
    problem: { kind, seq, position, message: `record seq ${seq}: ${kind} (${why})` },
  });

  for (const it of items) {
    const rec = it.record;
    if (!rec) return fail('altered', expected, it.position, `${it.error ?? 'unreadable'} at position ${it.position}`);
    if (typeof rec.seq !== 'number' || typeof rec.hash !== 'string' || typeof rec.prevHash !== 'string') {
      return fail('altered', expected, it.position, `position ${it.position} lacks seq, hash or prevHash`);
    }
    if (opts.allowDuplicates && rec.seq === expected - 1 && rec.hash === prevHash) continue;
    if (recordHash(rec) !== rec.hash) return fail('altered', rec.seq, it.position, 'its content does not match its hash');
    if (rec.seq !== expected) {
      if (rec.seq > expected && !laterSeqs.has(expected)) {
        return fail('missing', expected, it.position, `seq ${expected - 1} is followed by seq ${rec.seq}`);
      }
      return fail('out of order', rec.seq, it.position, `found at position ${it.position}, where seq ${expected} belongs`);
    }
    if (rec.prevHash !== prevHash) {
      // rec's own hash is intact, so the link broke at the record before it.
      return expected === 1
        ? fail('altered', rec.seq, it.position, 'the first record does not start from the genesis hash')
        : fail('altered', expected - 1, it.position - 1, `its hash no longer matches the prevHash stored in seq ${rec.seq}`);
    }
    prevHash = rec.hash;
    expected++;
    count++;
  }
  return { ok: true, count, headSeq: expected - 1, headHash: prevHash };
}
