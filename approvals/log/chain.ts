// The hash chain's rules, shared by the journal (which writes it) and audit
// verify (which checks it, from the file or from ClickHouse): a record's hash
// is the SHA-256 of its canonical JSON without the `hash` field, and that
// JSON includes `prevHash`, the hash of the record before.
import { createHash } from 'node:crypto';
import type { ApprovalEvent } from '../types.js';

/** JSON with object keys sorted at every level, undefined members omitted: one text per value. */
export function canonicalJson(value: unknown): string {
  if (value === null || typeof value !== 'object') {
    if (typeof value === 'bigint') throw new TypeError('canonicalJson: bigint is not JSON; convert it to a string first');
    return JSON.stringify(value) ?? 'null';
  }
  if (Array.isArray(value)) return '[' + value.map((v) => (v === undefined ? 'null' : canonicalJson(v))).join(',') + ']';
  const keys = Object.keys(value).sort();
  let out = '{';
  for (const k of keys) {
    const v = (value as Record<string, unknown>)[k];
    if (v === undefined || typeof v === 'function') continue;
    if (out.length > 1) out += ',';
    out += JSON.stringify(k) + ':' + canonicalJson(v);
  }
  return out + '}';
}

export function recordHash(record: Omit<ApprovalEvent, 'hash'> & { hash?: string }): string {
  const { hash: _omit, ...body } = record;
  return createHash('sha256').update(canonicalJson(body)).digest('hex');
}
