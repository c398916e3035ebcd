// An estimate of the memory a decoded batch holds, for the memory queue's
// byte bound: the item bound alone lets a queue of large spans (prompts,
// tool arguments of kilobytes) grow to gigabytes. Strings count their
// UTF-16 length (their in-heap size for Latin-1 text, half of it for other
// text), plus a fixed cost per object; the JS heap holds about 1.5–2× this
// (object headers, hidden classes), so it is an order of magnitude, not an
// accounting.
import type { AnyValue, Batch, KeyValue } from '../../pipeline/model.js';

/** Per span, log record, event, link or key-value: object headers, numbers, bigints. */
const ITEM_OVERHEAD = 160;
const VALUE_OVERHEAD = 48;

function valueBytes(v: AnyValue): number {
  if (typeof v === 'string') return v.length;
  if (v === null || typeof v !== 'object') return 8;
  if (v instanceof Uint8Array) return v.byteLength;
  if (Array.isArray(v)) {
    let n = VALUE_OVERHEAD;
    for (const x of v) n += VALUE_OVERHEAD + valueBytes(x);
    return n;
  }
  return VALUE_OVERHEAD + attrsBytes(v.kvlist);
}

function attrsBytes(attrs: KeyValue[]): number {
  let n = 0;
  for (let i = 0; i < attrs.length; i++) {
    const kv = attrs[i]!;
    n += VALUE_OVERHEAD + kv.key.length + valueBytes(kv.value);
  }
  return n;
}

export function estimateBatchBytes(batch: Batch): number {
  let n = 0;
  if (batch.signal === 'traces') {
    for (const rs of batch.resourceSpans) {
      n += ITEM_OVERHEAD + attrsBytes(rs.resource.attributes);
      for (const ss of rs.scopeSpans) {
        n += ITEM_OVERHEAD + ss.scope.name.length + ss.scope.version.length + attrsBytes(ss.scope.attributes);
        for (const s of ss.spans) {
          n += ITEM_OVERHEAD + s.traceId.length + s.spanId.length + s.parentSpanId.length + s.traceState.length + s.name.length + s.status.message.length;
          n += attrsBytes(s.attributes);
          for (const e of s.events) n += ITEM_OVERHEAD + e.name.length + attrsBytes(e.attributes);
          for (const l of s.links) n += ITEM_OVERHEAD + l.traceId.length + l.spanId.length + l.traceState.length + attrsBytes(l.attributes);
        }
      }
    }
  } else {
    for (const rl of batch.resourceLogs) {
      n += ITEM_OVERHEAD + attrsBytes(rl.resource.attributes);
      for (const sl of rl.scopeLogs) {
        n += ITEM_OVERHEAD + sl.scope.name.length + sl.scope.version.length + attrsBytes(sl.scope.attributes);
        for (const r of sl.logRecords) {
          n += ITEM_OVERHEAD + r.traceId.length + r.spanId.length + r.severityText.length + r.eventName.length + valueBytes(r.body);
          n += attrsBytes(r.attributes);
        }
      }
    }
  }
  return n;
}
