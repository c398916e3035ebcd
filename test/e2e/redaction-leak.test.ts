// Invariant 1, end to end: secrets and PII of every type, planted at random
// (fast-check) into every field kind of spans and log records, are sent to
// a started Sluice through its OTLP/HTTP receiver; no planted value, and no
// 8-character slice of a secret, may appear in ClickHouse, in a log line
// (the debug exporter logs every item), in a metric, or in a receiver reply.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import fc from 'fast-check';
import { pino } from 'pino';
import { createClient, type ClickHouseClient } from '@clickhouse/client';
import { parseConfigText } from '../../config/load.js';
import { startService, type RunningService } from '../../pipeline/service.js';
import { ALL_TYPES, SECRET_TYPES, chatMessages, plant, rng } from '../fixtures/redaction/samples.js';

const FIELD_KINDS = [
  'resource_attr',
  'scope_attr',
  'span_name',
  'span_attr',
  'span_attr_json',
  'event_name',
  'event_attr',
  'link_attr',
  'status_message',
  'log_body',
  'log_body_kvlist',
  'log_body_array',
  'log_attr',
  'blocked_key',
] as const;
type FieldKind = (typeof FIELD_KINDS)[number];

interface Planted {
  type: string;
  kind: FieldKind;
  text: string;
  value: string;
}

const logLines: string[] = [];
let service: RunningService;
let ch: ClickHouseClient;
let dataDir: string;

before(async () => {
  dataDir = await mkdtemp(join(tmpdir(), 'sluice-redaction-leak-'));
  const yaml = `
receivers:
  otlp:
    protocols:
      http: { endpoint: "127.0.0.1:0" }
processors:
  redaction: {}
  batch: { timeout: 20ms }
exporters:
  clickhouse:
    endpoint: "embedded:${join(dataDir, 'clickhouse')}"
    query_endpoint: "127.0.0.1:0"
  debug: { verbosity: detailed }
service:
  data_dir: "${dataDir}"
  shutdown_timeout: 5s
  telemetry:
    logs: { level: debug }
    admin: { endpoint: "127.0.0.1:0" }
  api: { endpoint: "127.0.0.1:0" }
  pipelines:
    traces: { receivers: [otlp], processors: [redaction, batch], exporters: [clickhouse, debug] }
    logs: { receivers: [otlp], processors: [redaction, batch], exporters: [clickhouse, debug] }
`;
  const sink = new Writable({
    write(chunk: Buffer, _enc, cb) {
      logLines.push(chunk.toString('utf8'));
      cb();
    },
  });
  service = await startService(parseConfigText(yaml, {}, 'redaction-leak'), { logger: pino({ level: 'debug' }, sink) });
  ch = createClient({ url: `http://127.0.0.1:${service.ports.query}` });
});

after(async () => {
  await ch?.close();
  await service?.stop();
  await rm(dataDir, { recursive: true, force: true });
});

const str = (s: string) => ({ stringValue: s });
const attr = (key: string, s: string) => ({ key, value: str(s) });
const hex = (n: number, i: number) => (i + 1).toString(16).padStart(n, '0');

function tracesRequest(plants: Planted[]) {
  const at = (k: FieldKind) => plants.filter((p) => p.kind === k).map((p) => p.text);
  const spans = plants.map((p, i) => ({
    traceId: hex(32, i),
    spanId: hex(16, i),
    name: p.kind === 'span_name' ? p.text : 'agent.step',
    kind: 1,
    startTimeUnixNano: '1700000000000000000',
    endTimeUnixNano: '1700000001000000000',
    attributes: [
      ...(p.kind === 'span_attr' ? [attr('gen_ai.prompt', p.text)] : []),
      ...(p.kind === 'span_attr_json' ? [attr('gen_ai.input.messages', chatMessages(rng(i), p.text))] : []),
      ...(p.kind === 'blocked_key' ? [attr('db.connection.password', p.value)] : []),
    ],
    events: [{ timeUnixNano: '1700000000500000000', name: p.kind === 'event_name' ? p.text : 'tool.call', attributes: p.kind === 'event_attr' ? [attr('tool.arguments', p.text)] : [] }],
    links: p.kind === 'link_attr' ? [{ traceId: 'f'.repeat(32), spanId: 'e'.repeat(16), attributes: [attr('note', p.text)] }] : [],
    status: p.kind === 'status_message' ? { code: 2, message: p.text } : { code: 0 },
  }));
  return {
    resourceSpans: [
      {
        resource: { attributes: [attr('service.name', 'leak-test'), ...at('resource_attr').map((t) => attr('deployment.note', t))] },
        scopeSpans: [{ scope: { name: 'agent-sdk', version: '1.0.0', attributes: at('scope_attr').map((t) => attr('scope.note', t)) }, spans }],
      },
    ],
  };
}

function logsRequest(plants: Planted[]) {
  const logRecords = plants.map((p) => {
    let body: unknown = str('agent finished');
    if (p.kind === 'log_body') body = str(p.text);
    if (p.kind === 'log_body_kvlist') body = { kvlistValue: { values: [{ key: 'request', value: { kvlistValue: { values: [attr('prompt', p.text), { key: 'n', value: { intValue: '3' } }] } } }] } };
    if (p.kind === 'log_body_array') body = { arrayValue: { values: [str('first'), { arrayValue: { values: [str(p.text)] } }] } };
    return {
      timeUnixNano: '1700000000000000000',
      severityNumber: 9,
      severityText: 'INFO',
      body,
      attributes: [...(p.kind === 'log_attr' ? [attr('tool.output', p.text)] : []), ...(p.kind === 'blocked_key' ? [attr('auth.token', p.value)] : [])],
    };
  });
  return { resourceLogs: [{ resource: { attributes: [attr('service.name', 'leak-test')] }, scopeLogs: [{ scope: { name: 'agent-sdk' }, logRecords }] }] };
}

async function post(path: string, body: unknown): Promise<string> {
  const res = await fetch(`http://127.0.0.1:${service.ports.http}${path}`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) });
  const text = await res.text();
  assert.equal(res.status, 200, `${path}: ${res.status}`);
  return text;
}

/** Every string inside a JSON document (keys and values), decoded. */
function strings(doc: unknown, out: string[] = []): string[] {
  if (typeof doc === 'string') out.push(doc);
  else if (Array.isArray(doc)) for (const d of doc) strings(d, out);
  else if (doc && typeof doc === 'object')
    for (const [k, v] of Object.entries(doc)) {
      out.push(k);
      strings(v, out);
    }
  return out;
}

test('no planted secret or PII reaches ClickHouse, a log line, a metric or a reply', { timeout: 120_000 }, async () => {
  const arb = fc.record({ type: fc.constantFrom(...ALL_TYPES), kind: fc.constantFrom(...FIELD_KINDS), seed: fc.integer({ min: 1, max: 2 ** 31 - 1 }) });
  const cases = fc.sample(arb, { numRuns: 120, seed: 777 });
  // Every type and every field kind at least once, whatever the sample drew.
  ALL_TYPES.forEach((type, i) => cases.push({ type, kind: FIELD_KINDS[i % FIELD_KINDS.length]!, seed: 1000 + i }));
  FIELD_KINDS.forEach((kind, i) => cases.push({ type: ALL_TYPES[i % ALL_TYPES.length]!, kind, seed: 2000 + i }));
  const plants: Planted[] = cases.map((c) => {
    const p = plant(rng(c.seed), c.type);
    return { type: c.type, kind: c.kind, text: p.text, value: p.value };
  });
  const spanPlants = plants.filter((p) => !p.kind.startsWith('log_'));
  const logPlants = plants.filter((p) => p.kind.startsWith('log_') || p.kind === 'blocked_key');

  const replies = [await post('/v1/traces', tracesRequest(spanPlants)), await post('/v1/logs', logsRequest(logPlants))];
  await service.flush();

  const traceRows = await (await ch.query({ query: 'SELECT * FROM otel_traces', format: 'JSONEachRow' })).json();
  const logRows = await (await ch.query({ query: 'SELECT * FROM otel_logs', format: 'JSONEachRow' })).json();
  assert.equal(traceRows.length, spanPlants.length, 'every span stored');
  assert.equal(logRows.length, logPlants.length, 'every log record stored');

  const stored = strings([traceRows, logRows]).join('\u0000');
  const logs = strings(logLines.map((l) => JSON.parse(l) as unknown)).join('\u0000') + logLines.join('');
  const metrics = await service.metrics.registry.metrics();
  const places = { clickhouse: stored, logs, metrics, replies: replies.join('') };

  // What the request holds besides the planted values: a slice found there
  // too does not prove a leak.
  const rest = JSON.stringify([tracesRequest(spanPlants), logsRequest(logPlants)]).split('\\n').join('\n');
  const restWithout = plants.reduce((acc, p) => acc.split(p.value).join('\u0000'), rest);

  const leaks: string[] = [];
  for (const p of plants) {
    for (const [where, text] of Object.entries(places)) {
      if (text.includes(p.value)) leaks.push(`${p.type} in ${p.kind} → ${where}`);
      if (!SECRET_TYPES.includes(p.type)) continue;
      for (let i = 0; i + 8 <= p.value.length; i++) {
        const s = p.value.slice(i, i + 8);
        if (text.includes(s) && !restWithout.includes(s)) {
          leaks.push(`${p.type} slice in ${p.kind} → ${where}`);
          break;
        }
      }
    }
  }
  assert.deepEqual(leaks, []);

  // And the redactions are there to see: summaries on the rows.
  const summarized = (traceRows as { SpanAttributes: Record<string, string> }[]).filter((r) => Number(r.SpanAttributes['sluice.redaction.count']) > 0);
  assert.equal(summarized.length, spanPlants.length, 'every span that carried a planted value has a summary');
  assert.ok(logLines.length > 0, 'the debug exporter logged');
});
