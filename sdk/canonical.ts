// The canonical form of an action, hashed by the agent before anything leaves
// it (and so before redaction): the approval is bound to this exact hash, and
// executing other arguments is refused. Sorted keys, no whitespace, JSON types.
import { createHash } from 'node:crypto';

export function canonicalJson(value: unknown): string {
  return JSON.stringify(normalise(value));
}

function normalise(v: unknown): unknown {
  if (v === null || v === undefined) return null;
  if (typeof v === 'bigint') return v.toString();
  if (typeof v === 'number') return Number.isFinite(v) ? v : null;
  if (typeof v === 'string' || typeof v === 'boolean') return v;
  if (v instanceof Uint8Array) return Buffer.from(v).toString('base64');
  if (typeof (v as { toJSON?: unknown }).toJSON === 'function') return normalise((v as { toJSON(): unknown }).toJSON());
  if (Array.isArray(v)) return v.map(normalise);
  if (typeof v === 'object') {
    const out: Record<string, unknown> = {};
    for (const k of Object.keys(v as object).sort()) {
      const x = (v as Record<string, unknown>)[k];
      if (x !== undefined && typeof x !== 'function' && typeof x !== 'symbol') out[k] = normalise(x);
    }
    return out;
  }
  return null;
}

/** SHA-256 hex of the canonical `{ action, resource, arguments }`. */
export function actionHash(action: { action: string; resource?: string; arguments?: unknown }): string {
  return createHash('sha256')
    .update(canonicalJson({ action: action.action, resource: action.resource ?? '', arguments: action.arguments ?? {} }))
    .digest('hex');
}
