// The approval log: where every approval event becomes durable, in order,
// hash-chained. The journal file is the embedded implementation; a Kafka
// topic (one partition, so one order) is the distributed one.
import type { ApprovalEvent } from '../types.js';

/** What a caller hands the log; the log assigns `seq`, `prevHash` and `hash`. */
export type NewApprovalEvent = Omit<ApprovalEvent, 'seq' | 'prevHash' | 'hash'>;

export interface ApprovalLog {
  /** Resolves with the stored record once it is durable (fsync'd / acknowledged by the brokers); never before. */
  append(event: NewApprovalEvent): Promise<ApprovalEvent>;
  /** Every durable record from the first, in log order. */
  readAll(): AsyncIterable<ApprovalEvent>;
  /** Seq and hash of the last durable record (0 and the genesis hash when empty). */
  head(): { seq: number; hash: string };
  /** Waits for in-flight appends, then releases the log. */
  close(): Promise<void>;
  /**
   * Shared logs only (Kafka): calls the listener with every record another
   * replica appended, in log order, once it is durable. Returns unsubscribe.
   */
  follow?(listener: (event: ApprovalEvent) => void): () => void;
}

/** prevHash of the first record. */
export const GENESIS_HASH = '0'.repeat(64);
