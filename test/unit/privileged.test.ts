import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pino } from 'pino';
import { createApprovalEngine, type LocalApprovalEngine } from '../../approvals/engine/engine.js';
import { openJournal, type JournalLog } from '../../approvals/log/journal.js';
import { PolicyHolder } from '../../approvals/policy/holder.js';
import type { ApprovalEvent, Identity } from '../../approvals/types.js';
import type { ComponentContext, Consumer } from '../../pipeline/component.js';
import type { AnyValue, Batch, KeyValue, LogBatch, Span, TraceBatch } from '../../pipeline/model.js';
import { emptyScope, SpanKind, StatusCode } from '../../pipeline/model.js';
import { SelfMetrics } from '../../pipeline/telemetry/metrics.js';
import { privilegedProcessorFactory } from '../../processors/privileged/factory.js';

const logger = pino({ level: 'silent' });
const HASH = 'c'.repeat(64);
const alice: Identity = { id: 'alice@example.com', groups: ['data-owners'], via: 'oidc' };

const POLICY = `
name: test-policy
rules:
  - name: export-prod
    match:
      action: export_table
      resource_attributes: { deployment.environment: prod }
    effect: require_approval
    require_approval:
      approvers: { groups: [data-owners] }
      timeout: 10m
  - name: flag-reads
    match: { action: "read_*" }
    effect: flag
  - name: never-drop
    match: { action: drop_table }
    effect: deny
  - name: free
    match: { action: list_tables }
    effect: allow
`;

function kvs(o: Record<string, AnyValue>): KeyValue[] {
  return Object.entries(o).map(([key, value]) => ({ key, value }));
}

let spanSeq = 0;
function span(name: string, attrs: Record<string, AnyValue>, status: number = StatusCode.UNSET): Span {
  spanSeq++;
  return {
    traceId: 'd'.repeat(32), spanId: spanSeq.toString(16).padStart(16, '0'), parentSpanId: '', traceState: '', flags: 1, name, kind: SpanKind.INTERNAL,
    startTimeUnixNano: 1n, endTimeUnixNano: 2n, attributes: kvs(attrs), droppedAttributesCount: 0,
    events: [], droppedEventsCount: 0, links: [], droppedLinksCount: 0, status: { code: status, message: status === StatusCode.ERROR ? 'permission denied' : '' },
  };
}

function traces(spans: Span[], env = 'prod'): TraceBatch {
  return {
    signal: 'traces',
    resourceSpans: [{ resource: { attributes: kvs({ 'service.name': 'billing-agent', 'deployment.environment': env }), droppedAttributesCount: 0 }, scopeSpans: [{ scope: emptyScope(), spans, schemaUrl: '' }], schemaUrl: '' }],
  };
}

function attr(s: Span, key: string): AnyValue | undefined {
  return s.attributes.find((kv) => kv.key === key)?.value;
}

interface Rig {
  policyFile: string;
  policy: PolicyHolder;
  engine: LocalApprovalEngine;
  log: JournalLog;
  events: ApprovalEvent[];
  forwarded: Batch[];
  consume(b: Batch): Promise<void>;
}

async function withRig(fn: (r: Rig) => Promise<void>): Promise<void> {
  const dir = await mkdtemp(join(tmpdir(), 'sluice-privileged-'));
  const file = join(dir, 'policy.yaml');
  await writeFile(file, POLICY);
  const policy = new PolicyHolder({ file, logger, watch: false });
  const log = await openJournal({ dir, logger });
  const engine = await createApprovalEngine({ log, logger, policy });
  const events: ApprovalEvent[] = [];
  engine.onEvent((e) => events.push(e));
  const forwarded: Batch[] = [];
  const next: Consumer = { consume: async (b) => void forwarded.push(b) };
  const ctx: ComponentContext = { id: 'privileged', logger, metrics: new SelfMetrics({ defaultMetrics: false }), dataDir: dir, approvals: engine };
  const proc = privilegedProcessorFactory.create(privilegedProcessorFactory.configSchema.parse({}), next, ctx);
  try {
    await fn({ policyFile: file, policy, engine, log, events, forwarded, consume: (b) => proc.consume(b) });
  } finally {
    await proc.shutdown?.();
    await engine.close();
    await log.close();
    policy.close();
    await rm(dir, { recursive: true, force: true });
  }
}

const intent = (id: string) =>
  span('approval.request', {
    'sluice.approval.id': id, 'sluice.approval.phase': 'request', 'sluice.action.name': 'export_table', 'sluice.action.resource': 'warehouse.customers',
    'sluice.action.reason': 'monthly churn report', 'sluice.action.hash': HASH, 'sluice.action.arguments': '{"to":"<REDACTED:email>"}', 'enduser.id': 'dave@example.com',
    'gen_ai.agent.name': 'billing-agent', 'row.limit': 5000n,
  });

test('an intent span opens its request once, with redacted context and the rule snapshot; the batch passes on annotated', async () => {
  await withRig(async (r) => {
    const s = intent('req-1');
    await r.consume(traces([s]));
    const req = r.engine.get('req-1');
    assert.equal(req?.state, 'pending');
    assert.deepEqual([req?.action, req?.resource, req?.reason, req?.requester, req?.agent, req?.actionHash], ['export_table', 'warehouse.customers', 'monthly churn report', 'dave@example.com', 'billing-agent', HASH]);
    assert.equal(req?.context['sluice.action.arguments'], '{"to":"<REDACTED:email>"}');
    assert.equal(req?.context['row.limit'], '5000');
    assert.equal(req?.context['sluice.approval.id'], undefined, 'control attributes are not context');
    assert.deepEqual([req?.policy.policy, req?.policy.rule, req?.policy.timeoutMs], ['test-policy', 'export-prod', 600_000]);
    assert.deepEqual([req?.traceId, req?.spanId], [s.traceId, s.spanId]);
    assert.equal(r.forwarded.length, 1);
    assert.equal(attr(s, 'sluice.approval.state'), 'pending');
    assert.equal(attr(s, 'sluice.privileged.rule'), 'export-prod');

    // retried export / replay: nothing opens twice
    await r.consume(traces([intent('req-1')]));
    assert.equal(r.events.filter((e) => e.type === 'opened').length, 1);
  });
});

test('the action span records the outcome: executed, or failed with its status', async () => {
  await withRig(async (r) => {
    await r.consume(traces([intent('ok-1'), intent('bad-1')]));
    for (const id of ['ok-1', 'bad-1']) await r.engine.decide({ approvalId: id, verdict: 'approve', by: alice, comment: '', channel: 'api' });
    const exec = (id: string, status: number) => span('export_table', { 'sluice.approval.id': id, 'sluice.approval.phase': 'execute', 'sluice.action.hash': HASH, 'sluice.action.name': 'export_table' }, status);
    await r.consume(traces([exec('ok-1', StatusCode.OK), exec('bad-1', StatusCode.ERROR)]));
    assert.equal(r.engine.get('ok-1')?.state, 'executed');
    assert.equal(r.engine.get('bad-1')?.state, 'failed');
    assert.equal(r.engine.get('bad-1')?.outcome?.detail, 'permission denied');
    await r.consume(traces([exec('ok-1', StatusCode.OK)])); // replay
    assert.equal(r.events.filter((e) => e.type === 'executed').length, 1);
  });
});

test('a privileged span without an approval id is ungated (once, even when replayed); flag and deny rules are flagged; allow and non-matching spans are left alone', async () => {
  await withRig(async (r) => {
    const rogue = span('export_table', { 'enduser.id': 'dave@example.com' });
    const batch = traces([rogue, span('read_customers', {}), span('drop_table', {}), span('list_tables', {}), span('http.get', {})]);
    await r.consume(batch);
    await r.consume(structuredClone(batch));
    assert.deepEqual(r.events.map((e) => [e.type, e.data?.rule, e.data?.effect]), [
      ['ungated', 'export-prod', 'require_approval'],
      ['flagged', 'flag-reads', 'flag'],
      ['flagged', 'never-drop', 'deny'],
    ]);
    assert.equal(r.events[0]?.data?.agent, 'billing-agent');
    assert.equal(r.events[0]?.data?.requester, 'dave@example.com');
    assert.equal(attr(rogue, 'sluice.approval.state'), 'ungated');
    assert.equal(r.forwarded.length, 2);

    // outside prod the export rule does not match at all
    await r.consume(traces([span('export_table', {})], 'dev'));
    assert.equal(r.events.length, 3);
  });
});

test('asking for approval where no require_approval rule applies is flagged (the SDK then fails closed)', async () => {
  await withRig(async (r) => {
    await r.consume(traces([intent('dev-1')], 'dev'));
    assert.equal(r.engine.get('dev-1'), undefined);
    assert.equal(r.events[0]?.type, 'flagged');
    assert.match(String(r.events[0]?.data?.reason), /no policy rule matches/);
  });
});

test('logs pass through untouched; without the approvals engine the processor refuses to start', async () => {
  await withRig(async (r) => {
    const logs: LogBatch = { signal: 'logs', resourceLogs: [] };
    await r.consume(logs);
    assert.equal(r.forwarded[0], logs);
  });
  const ctx: ComponentContext = { id: 'privileged', logger, metrics: new SelfMetrics({ defaultMetrics: false }), dataDir: tmpdir() };
  assert.throws(() => privilegedProcessorFactory.create(privilegedProcessorFactory.configSchema.parse({}), { consume: async () => {} }, ctx), /needs the approvals engine; add an `approvals:` section/);
});

test('a policy reload changes new requests only: a pending request keeps the rule it opened under', async () => {
  await withRig(async (r) => {
    await r.consume(traces([intent('snap-1')]));
    await writeFile(r.policyFile, POLICY.replace('groups: [data-owners]', 'groups: [security]').replace('timeout: 10m', 'timeout: 1h'));
    await r.policy.reload();
    await r.consume(traces([intent('snap-2')]));
    assert.deepEqual(r.engine.get('snap-1')?.policy.approvers.groups, ['data-owners']);
    assert.deepEqual(r.engine.get('snap-2')?.policy.approvers.groups, ['security']);
    // alice (data-owners) may still decide the old request, not the new one
    const old = await r.engine.decide({ approvalId: 'snap-1', verdict: 'approve', by: alice, comment: '', channel: 'api' });
    assert.equal(old.ok && old.request.state, 'approved');
    const fresh = await r.engine.decide({ approvalId: 'snap-2', verdict: 'approve', by: alice, comment: '', channel: 'api' });
    assert.equal(!fresh.ok && fresh.status, 403);
  });
});
