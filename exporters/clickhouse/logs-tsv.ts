// LogBatch → TabSeparated rows of the otel_logs table, mapped as the
// collector's clickhouseexporter maps plog (see logs-ndjson.ts for the
// mapping); columns are named in the INSERT (LOGS_COLUMNS).
import type { LogBatch, LogRecord } from '../../pipeline/model.js';
import { anyValueToString, stringAttr } from '../../pipeline/model.js';
import { mapTsv, nanosText, TextWriter, tsvEscape } from './tsv-common.js';

export const LOGS_COLUMNS = [
  'Timestamp', 'TraceId', 'SpanId', 'TraceFlags', 'SeverityText', 'SeverityNumber', 'Body',
  'ServiceName', 'ResourceSchemaUrl', 'ResourceAttributes',
  'ScopeSchemaUrl', 'ScopeName', 'ScopeVersion', 'ScopeAttributes',
  'LogAttributes', 'EventName',
] as const;

export function logsToTsv(batch: LogBatch): { body: Buffer; rows: number } {
  const out = new TextWriter();
  let rows = 0;
  for (const rl of batch.resourceLogs) rows += resourceLogsTsv(out, rl);
  return { body: out.finish(), rows };
}

/** The rows of one resource's log records into `out`; returns how many. */
export function resourceLogsTsv(out: TextWriter, rl: LogBatch['resourceLogs'][number]): number {
  let rows = 0;
  const resourcePart =
    '\t' + tsvEscape(stringAttr(rl.resource.attributes, 'service.name') ?? '') +
    '\t' + tsvEscape(rl.schemaUrl) +
    '\t' + mapTsv(rl.resource.attributes);
  for (const sl of rl.scopeLogs) {
    const sharedPart =
      resourcePart +
      '\t' + tsvEscape(sl.schemaUrl) +
      '\t' + tsvEscape(sl.scope.name) +
      '\t' + tsvEscape(sl.scope.version) +
      '\t' + mapTsv(sl.scope.attributes);
    for (const r of sl.logRecords) {
      out.push(logRow(r, sharedPart));
      rows++;
    }
  }
  return rows;
}

function logRow(r: LogRecord, sharedPart: string): string {
  const ts = r.timeUnixNano === 0n ? r.observedTimeUnixNano : r.timeUnixNano;
  const body = r.body;
  return (
    nanosText(ts) + '\t' +
    tsvEscape(r.traceId) + '\t' +
    tsvEscape(r.spanId) + '\t' +
    (r.flags & 0xff) + '\t' +
    tsvEscape(r.severityText) + '\t' +
    (r.severityNumber & 0xff) + '\t' +
    tsvEscape(typeof body === 'string' ? body : anyValueToString(body)) +
    sharedPart + '\t' +
    mapTsv(r.attributes) + '\t' +
    tsvEscape(r.eventName) + '\n'
  );
}
