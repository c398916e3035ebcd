// Splits a batch into one batch per trace id, keeping each span under its
// own resource and scope, so that a message keyed by trace id holds exactly
// that trace's items (the collector's batchpersignal.SplitTraces does the same).
import type { LogBatch, ResourceLogs, ResourceSpans, ScopeLogs, ScopeSpans, TraceBatch } from '../../pipeline/model.js';

interface TraceGroup {
  batch: TraceBatch;
  rs?: ResourceSpans;
  ss?: ScopeSpans;
  srcRs?: ResourceSpans;
  srcSs?: ScopeSpans;
}

/** Trace id → the spans of that trace, in their original order. */
export function splitTracesByTraceId(batch: TraceBatch): Map<string, TraceBatch> {
  const groups = new Map<string, TraceGroup>();
  for (const rs of batch.resourceSpans) {
    for (const ss of rs.scopeSpans) {
      for (const span of ss.spans) {
        let g = groups.get(span.traceId);
        if (!g) groups.set(span.traceId, (g = { batch: { signal: 'traces', resourceSpans: [] } }));
        if (g.srcRs !== rs) {
          g.srcRs = rs;
          g.srcSs = undefined;
          g.rs = { resource: rs.resource, scopeSpans: [], schemaUrl: rs.schemaUrl };
          g.batch.resourceSpans.push(g.rs);
        }
        if (g.srcSs !== ss) {
          g.srcSs = ss;
          g.ss = { scope: ss.scope, spans: [], schemaUrl: ss.schemaUrl };
          g.rs!.scopeSpans.push(g.ss);
        }
        g.ss!.spans.push(span);
      }
    }
  }
  const out = new Map<string, TraceBatch>();
  for (const [id, g] of groups) out.set(id, g.batch);
  return out;
}

interface LogGroup {
  batch: LogBatch;
  rl?: ResourceLogs;
  sl?: ScopeLogs;
  srcRl?: ResourceLogs;
  srcSl?: ScopeLogs;
}

/** Trace id ('' for records outside any trace) → those records, in their original order. */
export function splitLogsByTraceId(batch: LogBatch): Map<string, LogBatch> {
  const groups = new Map<string, LogGroup>();
  for (const rl of batch.resourceLogs) {
    for (const sl of rl.scopeLogs) {
      for (const rec of sl.logRecords) {
        let g = groups.get(rec.traceId);
        if (!g) groups.set(rec.traceId, (g = { batch: { signal: 'logs', resourceLogs: [] } }));
        if (g.srcRl !== rl) {
          g.srcRl = rl;
          g.srcSl = undefined;
          g.rl = { resource: rl.resource, scopeLogs: [], schemaUrl: rl.schemaUrl };
          g.batch.resourceLogs.push(g.rl);
        }
        if (g.srcSl !== sl) {
          g.srcSl = sl;
          g.sl = { scope: sl.scope, logRecords: [], schemaUrl: sl.schemaUrl };
          g.rl!.scopeLogs.push(g.sl);
        }
        g.sl!.logRecords.push(rec);
      }
    }
  }
  const out = new Map<string, LogBatch>();
  for (const [id, g] of groups) out.set(id, g.batch);
  return out;
}

/** Halves a batch by items (for a message over the size limit); undefined when it holds a single item. */
export function halve<B extends TraceBatch | LogBatch>(batch: B): [B, B] | undefined {
  // Flatten to (resource, scope, item) triples, then rebuild each half.
  if (batch.signal === 'traces') {
    const flat: Array<[ResourceSpans, ScopeSpans, ScopeSpans['spans'][number]]> = [];
    for (const rs of batch.resourceSpans) for (const ss of rs.scopeSpans) for (const s of ss.spans) flat.push([rs, ss, s]);
    if (flat.length < 2) return undefined;
    const build = (part: typeof flat): TraceBatch => {
      const out: TraceBatch = { signal: 'traces', resourceSpans: [] };
      let lastRs: ResourceSpans | undefined, lastSs: ScopeSpans | undefined, rs: ResourceSpans | undefined, ss: ScopeSpans | undefined;
      for (const [r, s, span] of part) {
        if (r !== lastRs) (lastRs = r), (lastSs = undefined), out.resourceSpans.push((rs = { resource: r.resource, scopeSpans: [], schemaUrl: r.schemaUrl }));
        if (s !== lastSs) (lastSs = s), rs!.scopeSpans.push((ss = { scope: s.scope, spans: [], schemaUrl: s.schemaUrl }));
        ss!.spans.push(span);
      }
      return out;
    };
    const mid = flat.length >>> 1;
    return [build(flat.slice(0, mid)), build(flat.slice(mid))] as [B, B];
  }
  const flat: Array<[ResourceLogs, ScopeLogs, ScopeLogs['logRecords'][number]]> = [];
  for (const rl of batch.resourceLogs) for (const sl of rl.scopeLogs) for (const r of sl.logRecords) flat.push([rl, sl, r]);
  if (flat.length < 2) return undefined;
  const build = (part: typeof flat): LogBatch => {
    const out: LogBatch = { signal: 'logs', resourceLogs: [] };
    let lastRl: ResourceLogs | undefined, lastSl: ScopeLogs | undefined, rl: ResourceLogs | undefined, sl: ScopeLogs | undefined;
    for (const [r, s, rec] of part) {
      if (r !== lastRl) (lastRl = r), (lastSl = undefined), out.resourceLogs.push((rl = { resource: r.resource, scopeLogs: [], schemaUrl: r.schemaUrl }));
      if (s !== lastSl) (lastSl = s), rl!.scopeLogs.push((sl = { scope: s.scope, logRecords: [], schemaUrl: s.schemaUrl }));
      sl!.logRecords.push(rec);
    }
    return out;
  };
  const mid = flat.length >>> 1;
  return [build(flat.slice(0, mid)), build(flat.slice(mid))] as [B, B];
}
