import { test } from 'node:test';
import assert from 'node:assert/strict';
import pino from 'pino';
import type { Batch, KeyValue, LogBatch, TraceBatch } from '../../pipeline/model.js';
import { SelfMetrics } from '../../pipeline/telemetry/metrics.js';
import { createRedactor, redactionProcessorFactory } from '../../processors/redaction/index.js';

const EMAIL = 'carol.jones@example.org';
const TOKEN = 'ghp_' + 'Zz9'.repeat(12);
const CARD = '4111-1111-1111-1111';

const kv = (key: string, value: KeyValue['value']): KeyValue => ({ key, value });

function traceBatch(): TraceBatch {
  return {
    signal: 'traces',
    resourceSpans: [
      {
        resource: { attributes: [kv('service.name', 'agent'), kv('host.owner', EMAIL)], droppedAttributesCount: 0 },
        schemaUrl: '',
        scopeSpans: [
          {
            scope: { name: 'agent-sdk', version: '1.0', attributes: [kv('scope.note', `card ${CARD}`)], droppedAttributesCount: 0 },
            schemaUrl: '',
            spans: [
              {
                traceId: 'a'.repeat(32),
                spanId: 'b'.repeat(16),
                parentSpanId: '',
                traceState: '',
                flags: 1,
                name: `call for ${EMAIL}`,
                kind: 1,
                startTimeUnixNano: 1n,
                endTimeUnixNano: 2n,
                attributes: [
                  kv('gen_ai.input.messages', JSON.stringify([{ role: 'user', content: `use ${TOKEN} please` }])),
                  kv('http.request.header.authorization', ['Bearer abc']),
                  kv('db.password', 'hunter2'),
                  kv('gen_ai.usage.input_tokens', 42n),
                  kv('sluice.redaction.count', 0n),
                  kv('list', [`x ${EMAIL}`, { kvlist: [kv('deep', [`${TOKEN}`]), kv('api_key', 'whatever')] }]),
                  kv('bytes', new TextEncoder().encode(`mail ${EMAIL}`)),
                  kv(`${EMAIL}`, 'key holds an email'),
                  kv('clean', 'nothing here'),
                  kv('card_as_int', 4111111111111111n),
                  kv('ts_ns', 1700000000123456789n),
                ],
                droppedAttributesCount: 0,
                events: [{ timeUnixNano: 1n, name: `exception for ${EMAIL}`, attributes: [kv('exception.message', `token ${TOKEN}`)], droppedAttributesCount: 0 }],
                droppedEventsCount: 0,
                links: [{ traceId: 'c'.repeat(32), spanId: 'd'.repeat(16), traceState: '', attributes: [kv('note', EMAIL)], droppedAttributesCount: 0, flags: 0 }],
                droppedLinksCount: 0,
                status: { code: 2, message: `failed for ${EMAIL}` },
              },
              {
                traceId: 'a'.repeat(32),
                spanId: 'e'.repeat(16),
                parentSpanId: '',
                traceState: '',
                flags: 1,
                name: 'clean span',
                kind: 1,
                startTimeUnixNano: 1n,
                endTimeUnixNano: 2n,
                attributes: [],
                droppedAttributesCount: 0,
                events: [],
                droppedEventsCount: 0,
                links: [],
                droppedLinksCount: 0,
                status: { code: 0, message: '' },
              },
            ],
          },
        ],
      },
    ],
  };
}

function logBatch(): LogBatch {
  return {
    signal: 'logs',
    resourceLogs: [
      {
        resource: { attributes: [], droppedAttributesCount: 0 },
        schemaUrl: '',
        scopeLogs: [
          {
            scope: { name: 's', version: '', attributes: [], droppedAttributesCount: 0 },
            schemaUrl: '',
            logRecords: [
              {
                timeUnixNano: 1n,
                observedTimeUnixNano: 1n,
                severityNumber: 9,
                severityText: 'INFO',
                body: { kvlist: [kv('msg', `login ${EMAIL}`), kv('args', [[`${CARD}`]]), kv('cookie', 'sid=1'), kv('json', `{"token": "${TOKEN}", "n": 1}`)] },
                attributes: [kv('user', EMAIL)],
                droppedAttributesCount: 0,
                flags: 0,
                traceId: '',
                spanId: '',
                eventName: '',
              },
              {
                timeUnixNano: 1n,
                observedTimeUnixNano: 1n,
                severityNumber: 9,
                severityText: 'INFO',
                body: `plain ${TOKEN}`,
                attributes: [],
                droppedAttributesCount: 0,
                flags: 0,
                traceId: '',
                spanId: '',
                eventName: '',
              },
            ],
          },
        ],
      },
    ],
  };
}

const leaks = (b: Batch) => {
  const s = JSON.stringify(b, (_k, v: unknown) => (typeof v === 'bigint' ? v.toString() : v instanceof Uint8Array ? Buffer.from(v).toString('utf8') : v));
  return [EMAIL, TOKEN, CARD, 'hunter2', 'Bearer abc', 'whatever', 'sid=1'].filter((x) => s.includes(x));
};

const attr = (attrs: KeyValue[], key: string) => attrs.find((a) => a.key === key)?.value;

test('every field kind of a trace batch is redacted, with summaries', () => {
  const b = traceBatch();
  const report = createRedactor({}).redactBatch(b);
  assert.deepEqual(leaks(b), []);
  const rs = b.resourceSpans[0]!;
  const [span, clean] = rs.scopeSpans[0]!.spans;
  assert.equal(span!.name, 'call for [REDACTED:email]');
  assert.equal(attr(span!.attributes, 'db.password'), '[REDACTED:blocked_key]');
  assert.equal(attr(span!.attributes, 'gen_ai.usage.input_tokens'), 42n, 'allowed key untouched');
  assert.equal(attr(span!.attributes, 'clean'), 'nothing here');
  assert.equal(attr(span!.attributes, 'card_as_int'), '[REDACTED:credit_card]', 'a card sent as an int');
  assert.equal(attr(span!.attributes, 'ts_ns'), 1700000000123456789n, 'other long ints untouched');
  assert.equal(attr(span!.attributes, 'bytes'), 'mail [REDACTED:email]');
  assert.equal(attr(span!.attributes, '[REDACTED:email]'), 'key holds an email');
  const msgs = JSON.parse(attr(span!.attributes, 'gen_ai.input.messages') as string) as { content: string }[];
  assert.equal(msgs[0]!.content, 'use [REDACTED:github_token] please');
  assert.equal(span!.events[0]!.name, 'exception for [REDACTED:email]');
  assert.equal(span!.status.message, 'failed for [REDACTED:email]');
  assert.equal(attr(rs.resource.attributes, 'service.name'), 'agent');
  // Span: 14 own redactions + resource (1) + scope (1); the forged summary is replaced.
  assert.equal(span!.attributes.filter((a) => a.key === 'sluice.redaction.count').length, 1);
  assert.equal(attr(span!.attributes, 'sluice.redaction.count'), 16n);
  assert.equal(attr(span!.attributes, 'sluice.redaction.types'), 'blocked_key,credit_card,email,github_token');
  // The clean span carries its resource's and scope's redactions.
  assert.equal(attr(clean!.attributes, 'sluice.redaction.count'), 2n);
  assert.equal(attr(clean!.attributes, 'sluice.redaction.types'), 'credit_card,email');
  assert.equal(report.byType.get('email'), 8);
  assert.equal(report.byType.get('credit_card'), 2);
});

test('log bodies at any depth, and drop mode removes attributes', () => {
  const b = logBatch();
  createRedactor({}).redactBatch(b);
  assert.deepEqual(leaks(b), []);
  const [rec, rec2] = b.resourceLogs[0]!.scopeLogs[0]!.logRecords;
  assert.equal(JSON.stringify(rec!.body), JSON.stringify({ kvlist: [kv('msg', 'login [REDACTED:email]'), kv('args', [['[REDACTED:credit_card]']]), kv('cookie', '[REDACTED:blocked_key]'), kv('json', '{"token": "[REDACTED:blocked_key]", "n": 1}')] }));
  assert.equal(rec2!.body, 'plain [REDACTED:github_token]');
  assert.equal(attr(rec2!.attributes, 'sluice.redaction.types'), 'github_token');

  const d = logBatch();
  createRedactor({ modes: { email: 'drop', blocked_key: 'drop' } }).redactBatch(d);
  const dr = d.resourceLogs[0]!.scopeLogs[0]!.logRecords[0]!;
  assert.equal(attr(dr.attributes, 'user'), undefined, 'attribute with a dropped email removed');
  const body = dr.body as { kvlist: KeyValue[] };
  // The JSON string held a blocked key in drop mode: the whole attribute goes.
  assert.deepEqual(body.kvlist.map((k) => k.key), ['args']);
  assert.deepEqual(leaks(d), []);
});

test('key rules are configurable: block and allow globs', () => {
  const r = createRedactor({ key_rules: { block: ['internal.*'], allow: ['internal.public'] } });
  const attrs = [kv('internal.thing', 'x'), kv('internal.public', `y ${EMAIL}`), kv('password', 'p')];
  r.redactAttributes(attrs, new (class { count = 0; types = new Map(); add() {} addAll() {} })() as never);
  assert.equal(attrs[0]!.value, '[REDACTED:blocked_key]');
  assert.equal(attrs[1]!.value, `y ${EMAIL}`, 'allow wins and is never scanned');
  assert.equal(attrs[2]!.value, 'p', 'default block list replaced');
});

test('processor factory: redacts, counts metrics by type and signal, then calls next', async () => {
  const metrics = new SelfMetrics({ defaultMetrics: false });
  const seen: Batch[] = [];
  const config = redactionProcessorFactory.configSchema.parse({});
  assert.equal(config.default_mode, 'mask');
  assert.deepEqual(config.packs, ['pii', 'secrets']);
  const p = redactionProcessorFactory.create(config, { consume: async (b) => void seen.push(b) }, { id: 'redaction', logger: pino({ level: 'silent' }), metrics, dataDir: '/nonexistent' });
  await p.consume(traceBatch());
  await p.consume(logBatch());
  assert.equal(seen.length, 2);
  assert.deepEqual(leaks(seen[0]!), []);
  const m = await metrics.redactions.get();
  const v = (type: string, signal: string) => m.values.find((x) => x.labels.type === type && x.labels.signal === signal)?.value;
  assert.equal(v('email', 'traces'), 8);
  assert.equal(v('github_token', 'logs'), 1);
  assert.equal(v('blocked_key', 'logs'), 2);
  const text = await metrics.registry.metrics();
  assert.ok(!text.includes(EMAIL) && !text.includes(TOKEN));
});

test('a custom rule that RE2 refuses fails the processor at create, naming the rule', () => {
  const config = redactionProcessorFactory.configSchema.parse({ rules: [{ name: 'my-rule', type: 'thing', pattern: '(a)\\1' }] });
  assert.throws(() => redactionProcessorFactory.create(config, { consume: async () => {} }, { id: 'redaction', logger: pino({ level: 'silent' }), metrics: new SelfMetrics({ defaultMetrics: false }), dataDir: '/x' }), /redaction rule "my-rule": RE2 cannot compile the pattern: invalid escape sequence/);
});

test('worker threads: same redaction and metrics as inline, hashes agree across threads', async () => {
  const metrics = new SelfMetrics({ defaultMetrics: false });
  const seen: Batch[] = [];
  const config = redactionProcessorFactory.configSchema.parse({ workers: 2, modes: { email: 'hash' } });
  const p = redactionProcessorFactory.create(config, { consume: async (b) => void seen.push(b) }, { id: 'redaction', logger: pino({ level: 'silent' }), metrics, dataDir: '/nonexistent' });
  try {
    await Promise.all([p.consume(traceBatch()), p.consume(traceBatch()), p.consume(logBatch())]);
  } finally {
    await p.shutdown?.();
  }
  assert.equal(seen.length, 3);
  for (const b of seen) assert.deepEqual(leaks(b), []);
  const names = seen.filter((b): b is TraceBatch => b.signal === 'traces').map((b) => b.resourceSpans[0]!.scopeSpans[0]!.spans[0]!.name);
  assert.equal(names.length, 2);
  assert.match(names[0]!, /^call for \[email:[0-9a-f]{8}\]$/);
  assert.equal(names[0], names[1], 'both threads hash with one key');
  const m = await metrics.redactions.get();
  assert.equal(m.values.find((x) => x.labels.type === 'email' && x.labels.signal === 'traces')?.value, 16);
});
