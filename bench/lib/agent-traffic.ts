// Realistic AI-agent telemetry for the load benchmarks, deterministic from a
// seed. One agent turn is a trace of 10 spans: invoke_agent, 3 chat spans
// (gen_ai.input.messages / output of 0.5–4 KB), 3 execute_tool spans
// (gen_ai.tool.call.arguments / result of 0.5–4 KB), and 3 small client spans
// (HTTP, SQL). About 3% of string values carry something sensitive (email,
// phone, card number, API key, AWS key, JWT); one span per request is a
// privileged action (export_table in prod, with no approval id: an `ungated`
// event). Logs mirror the chat and tool spans as log records.
import type { AnyValue, KeyValue, LogBatch, LogRecord, Span, TraceBatch } from '../../pipeline/model.js';
import { encodeLogs, encodeTraces } from '../../pipeline/otlp/encode-protobuf.js';

/** mulberry32: small, fast, deterministic. */
export function rng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const WORDS = (
  'the customer asked about their invoice for last quarter and wants a summary of usage by region please check the ' +
  'database for open tickets then draft a reply explaining the refund policy include the order number and the shipping ' +
  'status of each item make sure the tone is friendly and concise the report should list revenue churn and active seats ' +
  'per plan compare with the previous month and flag anomalies larger than ten percent use the analytics warehouse ' +
  'tables orders customers subscriptions events and the support queue join on account id where status is active'
).split(' ');

const SENSITIVE: Array<(r: () => number) => string> = [
  (r) => `jane.doe${Math.floor(r() * 1e4)}@example.com`,
  (r) => `+1 415 555 ${String(1000 + Math.floor(r() * 8999))}`,
  () => '4111 1111 1111 1111',
  (r) => `sk_live_${hex(r, 24)}`,
  (r) => `AKIA${hex(r, 16).toUpperCase()}`,
  () => 'eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiJhZ2VudCJ9.c2lnbmF0dXJlLXNpZ25hdHVyZQ',
];

function hex(r: () => number, n: number): string {
  let s = '';
  for (let i = 0; i < n; i++) s += '0123456789abcdef'[Math.floor(r() * 16)];
  return s;
}

function text(r: () => number, bytes: number, sensitive: boolean): string {
  const parts: string[] = [];
  let len = 0;
  const plantAt = sensitive ? Math.floor(r() * (bytes / 6)) : -1;
  while (len < bytes) {
    const w = parts.length === plantAt ? (SENSITIVE[Math.floor(r() * SENSITIVE.length)] as (r: () => number) => string)(r) : (WORDS[Math.floor(r() * WORDS.length)] as string);
    parts.push(w);
    len += w.length + 1;
  }
  return parts.join(' ');
}

const kv = (key: string, value: AnyValue): KeyValue => ({ key, value });

export interface TrafficOptions {
  seed: number;
  /** Spans (traces) or records (logs) per request; a multiple of 10 reads best. */
  perRequest: number;
  /** Share of string values with a planted sensitive value. */
  sensitiveShare?: number;
}

export interface Payloads {
  bodies: Buffer[];
  itemsPerBody: number;
  /** Mean encoded bytes per item. */
  bytesPerItem: number;
}

function bigText(r: () => number, share: number): string {
  return text(r, 512 + Math.floor(r() * 3584), r() < share);
}

export function agentSpans(o: TrafficOptions, requestNo: number): TraceBatch {
  const r = rng(o.seed * 7919 + requestNo);
  const share = o.sensitiveShare ?? 0.03;
  const spans: Span[] = [];
  const t0 = 1_700_000_000_000_000_000n + BigInt(requestNo) * 1_000_000_000n;
  let traceId = '';
  let rootId = '';
  for (let i = 0; i < o.perRequest; i++) {
    const role = i % 10;
    if (role === 0) {
      traceId = hex(r, 32);
      rootId = hex(r, 16);
    }
    const spanId = role === 0 ? rootId : hex(r, 16);
    const start = t0 + BigInt(i) * 1_000_000n;
    let name: string;
    let kind = 1;
    let attributes: KeyValue[];
    if (role === 0) {
      name = 'invoke_agent support-bot';
      attributes = [kv('gen_ai.operation.name', 'invoke_agent'), kv('gen_ai.agent.name', 'support-bot'), kv('enduser.id', `user-${Math.floor(r() * 1000)}`)];
    } else if (role <= 3) {
      name = 'chat gpt-4o';
      kind = 3;
      const prompt = JSON.stringify([{ role: 'user', parts: [{ type: 'text', content: bigText(r, share) }] }]);
      attributes = [
        kv('gen_ai.operation.name', 'chat'),
        kv('gen_ai.request.model', 'gpt-4o'),
        kv('gen_ai.input.messages', prompt),
        kv('gen_ai.output.messages', text(r, 200, r() < share)),
        kv('gen_ai.usage.input_tokens', BigInt(200 + Math.floor(r() * 900))),
        kv('gen_ai.usage.output_tokens', BigInt(50 + Math.floor(r() * 300))),
      ];
    } else if (role <= 6) {
      name = 'execute_tool search_tickets';
      const args = JSON.stringify({ query: bigText(r, share), limit: 20, filters: { status: 'open', region: 'eu' } });
      attributes = [kv('gen_ai.operation.name', 'execute_tool'), kv('gen_ai.tool.name', 'search_tickets'), kv('gen_ai.tool.call.arguments', args), kv('gen_ai.tool.call.result', text(r, 150, r() < share))];
    } else if (role <= 8) {
      name = 'GET /api/tickets';
      kind = 3;
      attributes = [kv('http.request.method', 'GET'), kv('url.full', `https://tickets.internal/api/tickets?q=${hex(r, 8)}`), kv('http.response.status_code', 200n)];
    } else {
      name = 'SELECT orders';
      kind = 3;
      attributes = [kv('db.system', 'clickhouse'), kv('db.query.text', `SELECT * FROM orders WHERE account_id = '${hex(r, 12)}' LIMIT 50`)];
    }
    // One privileged action per request: an export in prod with no approval (an `ungated` event).
    if (i === o.perRequest - 1) {
      name = 'export_table';
      attributes = [kv('sluice.action.name', 'export_table'), kv('gen_ai.tool.name', 'export_table'), kv('db.collection.name', 'customers')];
    }
    spans.push({
      traceId,
      spanId,
      parentSpanId: role === 0 ? '' : rootId,
      traceState: '',
      flags: 1,
      name,
      kind,
      startTimeUnixNano: start,
      endTimeUnixNano: start + 500_000n,
      attributes,
      droppedAttributesCount: 0,
      events: [],
      droppedEventsCount: 0,
      links: [],
      droppedLinksCount: 0,
      status: { code: 0, message: '' },
    });
  }
  return {
    signal: 'traces',
    resourceSpans: [
      {
        resource: { attributes: [kv('service.name', 'support-bot'), kv('deployment.environment', 'prod'), kv('telemetry.sdk.language', 'python')], droppedAttributesCount: 0 },
        schemaUrl: '',
        scopeSpans: [{ scope: { name: 'opentelemetry.instrumentation.openai', version: '0.1.0', attributes: [], droppedAttributesCount: 0 }, schemaUrl: '', spans }],
      },
    ],
  };
}

export function agentLogs(o: TrafficOptions, requestNo: number): LogBatch {
  const r = rng(o.seed * 104729 + requestNo);
  const share = o.sensitiveShare ?? 0.03;
  const logRecords: LogRecord[] = [];
  const t0 = 1_700_000_000_000_000_000n + BigInt(requestNo) * 1_000_000_000n;
  for (let i = 0; i < o.perRequest; i++) {
    logRecords.push({
      timeUnixNano: t0 + BigInt(i) * 1_000_000n,
      observedTimeUnixNano: 0n,
      severityNumber: 9,
      severityText: 'INFO',
      body: i % 2 ? bigText(r, share) : `tool call finished in ${Math.floor(r() * 900)} ms`,
      attributes: [kv('gen_ai.operation.name', i % 2 ? 'chat' : 'execute_tool'), kv('event.name', 'gen_ai.client.inference.operation.details')],
      droppedAttributesCount: 0,
      flags: 1,
      traceId: hex(r, 32),
      spanId: hex(r, 16),
      eventName: '',
    });
  }
  return {
    signal: 'logs',
    resourceLogs: [
      {
        resource: { attributes: [kv('service.name', 'support-bot')], droppedAttributesCount: 0 },
        schemaUrl: '',
        scopeLogs: [{ scope: { name: 'agent', version: '', attributes: [], droppedAttributesCount: 0 }, schemaUrl: '', logRecords }],
      },
    ],
  };
}

/** `count` distinct OTLP/HTTP protobuf request bodies. */
export function tracePayloads(o: TrafficOptions, count: number): Payloads {
  const bodies = Array.from({ length: count }, (_, i) => encodeTraces(agentSpans(o, i)));
  const total = bodies.reduce((s, b) => s + b.length, 0);
  return { bodies, itemsPerBody: o.perRequest, bytesPerItem: Math.round(total / (count * o.perRequest)) };
}

export function logPayloads(o: TrafficOptions, count: number): Payloads {
  const bodies = Array.from({ length: count }, (_, i) => encodeLogs(agentLogs(o, i)));
  const total = bodies.reduce((s, b) => s + b.length, 0);
  return { bodies, itemsPerBody: o.perRequest, bytesPerItem: Math.round(total / (count * o.perRequest)) };
}
