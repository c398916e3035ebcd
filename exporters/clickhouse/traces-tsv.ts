// TraceBatch → TabSeparated rows of the otel_traces table, mapped as the
// collector's clickhouseexporter maps ptrace (see traces-ndjson.ts for the
// mapping); columns are named in the INSERT (TRACES_COLUMNS), so a table
// created outside Sluice with another column order still lines up.
// Resource and scope parts are serialized once and reused for every span.
import type { Span, TraceBatch } from '../../pipeline/model.js';
import { stringAttr } from '../../pipeline/model.js';
import { spanKindName, statusCodeName } from './traces-ndjson.js';
import { mapTsv, nanosText, quoted, TextWriter, tsvEscape } from './tsv-common.js';

export const TRACES_COLUMNS = [
  'Timestamp', 'TraceId', 'SpanId', 'ParentSpanId', 'TraceState', 'SpanName', 'SpanKind',
  'ServiceName', 'ResourceAttributes', 'ScopeName', 'ScopeVersion',
  'SpanAttributes', 'Duration', 'StatusCode', 'StatusMessage',
  'Events.Timestamp', 'Events.Name', 'Events.Attributes',
  'Links.TraceId', 'Links.SpanId', 'Links.TraceState', 'Links.Attributes',
] as const;

/** Serializes a batch; returns the TSV body and its row count. */
export function tracesToTsv(batch: TraceBatch): { body: Buffer; rows: number } {
  const out = new TextWriter();
  let rows = 0;
  for (const rs of batch.resourceSpans) rows += resourceSpansTsv(out, rs);
  return { body: out.finish(), rows };
}

/** The rows of one resource's spans into `out`; returns how many. */
export function resourceSpansTsv(out: TextWriter, rs: TraceBatch['resourceSpans'][number]): number {
  let rows = 0;
  const resourcePart = '\t' + tsvEscape(stringAttr(rs.resource.attributes, 'service.name') ?? '') + '\t' + mapTsv(rs.resource.attributes);
  for (const ss of rs.scopeSpans) {
    const sharedPart = resourcePart + '\t' + tsvEscape(ss.scope.name) + '\t' + tsvEscape(ss.scope.version);
    for (const span of ss.spans) {
      out.push(spanRow(span, sharedPart));
      rows++;
    }
  }
  return rows;
}

function spanRow(s: Span, sharedPart: string): string {
  const dur = s.endTimeUnixNano - s.startTimeUnixNano;
  let row =
    nanosText(s.startTimeUnixNano) + '\t' +
    tsvEscape(s.traceId) + '\t' +
    tsvEscape(s.spanId) + '\t' +
    tsvEscape(s.parentSpanId) + '\t' +
    tsvEscape(s.traceState) + '\t' +
    tsvEscape(s.name) + '\t' +
    spanKindName(s.kind) +
    sharedPart + '\t' +
    mapTsv(s.attributes) + '\t' +
    // A span that ends before it starts has no meaningful duration; the
    // column is unsigned.
    (dur > 0n ? dur.toString() : '0') + '\t' +
    statusCodeName(s.status.code) + '\t' +
    tsvEscape(s.status.message);
  const ev = s.events;
  if (ev.length === 0) {
    row += '\t[]\t[]\t[]';
  } else {
    let ts = '', names = '', attrs = '';
    for (let i = 0; i < ev.length; i++) {
      const e = ev[i]!;
      const sep = i === 0 ? '' : ',';
      ts += sep + "'" + nanosText(e.timeUnixNano) + "'";
      names += sep + quoted(e.name);
      attrs += sep + mapTsv(e.attributes);
    }
    row += '\t[' + ts + ']\t[' + names + ']\t[' + attrs + ']';
  }
  const ln = s.links;
  if (ln.length === 0) {
    row += '\t[]\t[]\t[]\t[]\n';
  } else {
    let tids = '', sids = '', states = '', attrs = '';
    for (let i = 0; i < ln.length; i++) {
      const l = ln[i]!;
      const sep = i === 0 ? '' : ',';
      tids += sep + quoted(l.traceId);
      sids += sep + quoted(l.spanId);
      states += sep + quoted(l.traceState);
      attrs += sep + mapTsv(l.attributes);
    }
    row += '\t[' + tids + ']\t[' + sids + ']\t[' + states + ']\t[' + attrs + ']\n';
  }
  return row;
}
