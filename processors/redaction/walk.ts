// Applies a redactor to every agent-controlled string of a batch, in place,
// and writes the per-item summary. Resource and scope redactions count
// toward every span or log record under them: each exported row carries its
// resource and scope attributes, so its summary describes the whole row.
import type { Batch, KeyValue, Scope } from '../../pipeline/model.js';
import { Tally, type Redactor } from './redactor.js';

export const SUMMARY_COUNT = 'sluice.redaction.count';
export const SUMMARY_TYPES = 'sluice.redaction.types';

export interface BatchReport {
  /** Redactions by type, each counted once (for metrics). */
  byType: Map<string, number>;
  /** Spans or log records that carry a summary. */
  itemsRedacted: number;
}

function summarize(attrs: KeyValue[], t: Tally): void {
  for (let i = attrs.length - 1; i >= 0; i--) {
    const k = attrs[i]!.key;
    // An agent must not be able to forge or hide the summary.
    if (k === SUMMARY_COUNT || k === SUMMARY_TYPES) attrs.splice(i, 1);
  }
  if (t.count === 0) return;
  attrs.push({ key: SUMMARY_COUNT, value: BigInt(t.count) });
  attrs.push({ key: SUMMARY_TYPES, value: [...t.types.keys()].sort().join(',') });
}

function redactScope(scope: Scope, r: Redactor, t: Tally): void {
  scope.name = r.redactString(scope.name, t);
  scope.version = r.redactString(scope.version, t);
  r.redactAttributes(scope.attributes, t);
}

export function redactBatchInPlace(batch: Batch, r: Redactor): BatchReport {
  const total = new Tally();
  let itemsRedacted = 0;
  // One tally per item, reused: most items have nothing redacted.
  const t = new Tally();
  const finish = (attrs: KeyValue[], item: Tally, outer: Tally) => {
    if (item.count === 0 && outer.count === 0) {
      summarize(attrs, item);
      return;
    }
    total.addAll(item);
    const row = new Tally();
    row.addAll(outer);
    row.addAll(item);
    summarize(attrs, row);
    itemsRedacted++;
  };

  if (batch.signal === 'traces') {
    for (const rs of batch.resourceSpans) {
      const res = new Tally();
      r.redactAttributes(rs.resource.attributes, res);
      total.addAll(res);
      for (const ss of rs.scopeSpans) {
        const outer = new Tally();
        redactScope(ss.scope, r, outer);
        total.addAll(outer);
        outer.addAll(res);
        for (const span of ss.spans) {
          t.reset();
          span.name = r.redactString(span.name, t);
          r.redactAttributes(span.attributes, t);
          for (const ev of span.events) {
            ev.name = r.redactString(ev.name, t);
            r.redactAttributes(ev.attributes, t);
          }
          for (const link of span.links) r.redactAttributes(link.attributes, t);
          span.status.message = r.redactString(span.status.message, t);
          finish(span.attributes, t, outer);
        }
      }
    }
  } else {
    for (const rl of batch.resourceLogs) {
      const res = new Tally();
      r.redactAttributes(rl.resource.attributes, res);
      total.addAll(res);
      for (const sl of rl.scopeLogs) {
        const outer = new Tally();
        redactScope(sl.scope, r, outer);
        total.addAll(outer);
        outer.addAll(res);
        for (const rec of sl.logRecords) {
          t.reset();
          const body = r.redactValue(rec.body, t);
          // A dropped body cannot be removed from a log record: it becomes empty.
          rec.body = typeof body === 'symbol' ? null : body;
          r.redactAttributes(rec.attributes, t);
          rec.eventName = r.redactString(rec.eventName, t);
          rec.severityText = r.redactString(rec.severityText, t);
          finish(rec.attributes, t, outer);
        }
      }
    }
  }
  return { byType: total.types, itemsRedacted };
}
