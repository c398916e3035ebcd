// What tells the traces and logs request envelopes apart, for the decoders'
// shared envelope walkers: Export*ServiceRequest → Resource* → Scope* → items
// has the same field numbers and the same isolation rules for both signals,
// only the names differ (in JSON keys and in rejection reasons).
import type { Signal } from '../model.js';

export interface Envelope {
  readonly signal: Signal;
  /** Picks the item decoder and the group shapes; a branch keeps the per-item call direct. */
  readonly traces: boolean;
  /** The protobuf request message, for OtlpDecodeError. */
  readonly request: string;
  /** Proto (snake_case) field names, as rejection reasons spell them; JSON accepts them too. */
  readonly resources: string;
  readonly scopes: string;
  readonly items: string;
  /** The OTLP/JSON (lowerCamelCase) keys. */
  readonly resourcesJson: string;
  readonly scopesJson: string;
  readonly itemsJson: string;
}

export const TRACES: Envelope = {
  signal: 'traces',
  traces: true,
  request: 'ExportTraceServiceRequest',
  resources: 'resource_spans',
  scopes: 'scope_spans',
  items: 'spans',
  resourcesJson: 'resourceSpans',
  scopesJson: 'scopeSpans',
  itemsJson: 'spans',
};

export const LOGS: Envelope = {
  signal: 'logs',
  traces: false,
  request: 'ExportLogsServiceRequest',
  resources: 'resource_logs',
  scopes: 'scope_logs',
  items: 'log_records',
  resourcesJson: 'resourceLogs',
  scopesJson: 'scopeLogs',
  itemsJson: 'logRecords',
};
