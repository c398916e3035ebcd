// Approvals on the Kafka approval log, end to end across two edge replicas
// (`sluice start --role edge`, separate processes) and a real Kafka protocol
// peer (librdkafka's mock cluster, served by kcat): a request opened on one
// edge is decided on the other and seen by a long-poll on either; two
// decisions racing through different edges resolve identically on both, to
// the terminal event that is first in the topic; `sluice audit verify`
// accepts the topic afterwards.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pino } from 'pino';
import { resourceFromAttributes } from '@opentelemetry/resources';
import { BasicTracerProvider, SimpleSpanProcessor } from '@opentelemetry/sdk-trace-base';
import { OTLPTraceExporter } from '@opentelemetry/exporter-trace-otlp-proto';
import { ApprovalAttr, type ApprovalEvent } from '../../approvals/types.js';
import { GENESIS_HASH } from '../../approvals/log/types.js';
import { judge, kafkaApprovalLogSchema, readApprovalTopic } from '../../approvals/log/kafka.js';
import { ApprovalDeniedError, requireApproval, type Approval, type RequireApprovalOptions } from '../../sdk/index.js';
import { startKafkaMock, type KafkaMock } from '../helpers/kafka-mock.js';
import { runCli, startCli, type StartedCli } from '../helpers/cli.js';

const AGENT = 'kafka-e2e-agent-token-0123456789';
const ALICE = 'kafka-e2e-alice-token-0123456789';
const BOB = 'kafka-e2e-bob-token-0123456789ab';
const REQUESTER = 'dana@example.com';

const POLICY = `
version: 1
name: kafka-e2e
rules:
  - name: export-table
    match: { action: export_table }
    effect: require_approval
    require_approval:
      approvers: { groups: [data-owners] }
      timeout: 10m
  - name: grant-role-two
    match: { action: grant_role }
    effect: require_approval
    require_approval:
      approvers: { groups: [security] }
      min_approvals: 2
      timeout: 10m
`;

function edgeYaml(o: { name: string; dir: string; brokers: string[]; suffix: string }): string {
  const brokers = `[${o.brokers.map((b) => `"${b}"`).join(', ')}]`;
  return `
receivers:
  otlp:
    protocols:
      http: { endpoint: "127.0.0.1:0" }
processors:
  redaction: { packs: [pii, secrets] }
  privileged: {}
exporters:
  kafka:
    brokers: ${brokers}
    client_id: ${o.name}
    traces: { topic: spans_${o.suffix} }
    logs: { topic: logs_${o.suffix} }
    timeout: 5s
    # The mock cluster cannot hand out a producer id: no idempotent producer.
    producer: { idempotent: false }
approvals:
  policy_file: "${join(o.dir, 'policy.yaml')}"
  watch_policy: false
  log: { type: kafka, brokers: ${brokers}, client_id: ${o.name}, topic: approvals_${o.suffix}, idempotent: false }
  store: { enabled: false }
  auth:
    tokens:
      - { name: agent, value: "${AGENT}", scopes: [ingest, request] }
      - { name: alice, value: "${ALICE}", scopes: [read, decide], identity: { id: alice@example.com, name: Alice, groups: [data-owners, security] } }
      - { name: bob, value: "${BOB}", scopes: [read, decide], identity: { id: bob@example.com, name: Bob, groups: [data-owners, security] } }
service:
  data_dir: "${join(o.dir, o.name)}"
  shutdown_timeout: 5s
  telemetry: { logs: { level: info }, admin: { endpoint: "127.0.0.1:0" } }
  api: { endpoint: "127.0.0.1:0" }
  pipelines:
    traces/edge: { receivers: [otlp], processors: [redaction, privileged], exporters: [kafka] }
`;
}

interface Edge {
  name: string;
  cli: StartedCli;
  provider: BasicTracerProvider;
  url: string;
}

async function api(edge: Edge, method: 'GET' | 'POST', path: string, token: string, body?: unknown) {
  const res = await fetch(`${edge.url}${path}`, {
    method,
    headers: { authorization: `Bearer ${token}`, ...(body ? { 'content-type': 'application/json' } : {}) },
    body: body ? JSON.stringify(body) : undefined,
  });
  return { status: res.status, body: (await res.json()) as any };
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Polls GET /v1/approvals/{id} until `done` holds (a replica applies another's events asynchronously). */
async function until(edge: Edge, id: string, done: (r: any) => boolean, what: string): Promise<any> {
  const deadline = Date.now() + 15_000;
  let last: { status: number; body: any } | undefined;
  while (Date.now() < deadline) {
    last = await api(edge, 'GET', `/v1/approvals/${id}`, ALICE);
    if (last.status === 200 && done(last.body)) return last.body;
    await sleep(25);
  }
  assert.fail(`${edge.name} never showed ${what} for ${id}; last answer: HTTP ${last?.status} ${JSON.stringify(last?.body)}`);
}

/** What a replica shows of a request that must be the same everywhere. */
function shared(r: any) {
  return {
    id: r.id,
    state: r.state,
    actionHash: r.actionHash,
    approvals: r.approvals.map((a: any) => ({ by: a.by, at: a.at, channel: a.channel, comment: a.comment })),
    denial: r.denial && { by: r.denial.by, at: r.denial.at, channel: r.denial.channel, comment: r.denial.comment },
  };
}

const TERMINAL = new Set<ApprovalEvent['type']>(['approved', 'denied', 'expired', 'cancelled']);

describe('approvals on Kafka across two edge replicas', () => {
  let mock: KafkaMock;
  let dir: string;
  let brokers: string[];
  let topic: string;
  const edges: Edge[] = [];
  let A: Edge;
  let B: Edge;

  const ask = (edge: Edge, o: Partial<RequireApprovalOptions> & { action: string }) =>
    requireApproval({
      resource: 'warehouse.customers',
      reason: 'weekly churn report',
      arguments: { table: 'customers', n: randomBytes(4).toString('hex') },
      attributes: { [ApprovalAttr.requester]: REQUESTER },
      endpoint: edge.url,
      token: AGENT,
      tracerProvider: edge.provider,
      timeoutMs: 30_000,
      openTimeoutMs: 15_000,
      ...o,
    });

  /** Opens a request through `edge` and returns its id (once the edge knows it) and the pending SDK call. */
  async function open(edge: Edge, o: Partial<RequireApprovalOptions> & { action: string }) {
    let requested!: (id: string) => void;
    const idSent = new Promise<string>((r) => (requested = r));
    const result = ask(edge, { ...o, onRequested: requested }).then(
      (a) => ({ approval: a as Approval }),
      (e: unknown) => ({ error: e }),
    );
    const id = await Promise.race([idSent, result.then((r) => assert.fail(`requireApproval ended before sending its span: ${JSON.stringify(r)}`))]);
    return { id, result };
  }

  before(async () => {
    mock = await startKafkaMock();
    brokers = mock.brokers;
    dir = await mkdtemp(join(tmpdir(), 'sluice-e2e-kafka-approvals-'));
    const suffix = `${process.pid}_${randomBytes(4).toString('hex')}`;
    topic = `approvals_${suffix}`;
    await writeFile(join(dir, 'policy.yaml'), POLICY);
    const started = await Promise.all(
      ['edge-a', 'edge-b'].map(async (name) => {
        const file = join(dir, `${name}.yaml`);
        await writeFile(file, edgeYaml({ name, dir, brokers, suffix }));
        const cli = await startCli(['--config', file, '--role', 'edge'], { KAFKAJS_NO_PARTITIONER_WARNING: '1' });
        const edge: Edge = {
          name,
          cli,
          url: `http://127.0.0.1:${cli.ports.api}`,
          provider: new BasicTracerProvider({
            resource: resourceFromAttributes({ 'service.name': 'report-agent' }),
            spanProcessors: [new SimpleSpanProcessor(new OTLPTraceExporter({ url: `http://127.0.0.1:${cli.ports.http}/v1/traces` }))],
          }),
        };
        edges.push(edge);
        return edge;
      }),
    );
    [A, B] = started as [Edge, Edge];
  });

  after(async () => {
    for (const e of edges) await e.provider.shutdown().catch(() => undefined);
    await Promise.all(
      edges.map(async (e) => {
        if (e.cli.child.exitCode !== null || e.cli.child.signalCode !== null) return;
        e.cli.child.kill('SIGTERM');
        const killer = setTimeout(() => e.cli.child.kill('SIGKILL'), 10_000);
        await e.cli.exited;
        clearTimeout(killer);
      }),
    );
    await mock?.stop();
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  it('opened on edge A, decided on edge B: the SDK on A and a long-poll on B both see the approval', async () => {
    const { id, result } = await open(A, { action: 'export_table' });
    await until(B, id, (r) => r.state === 'pending', 'the pending request');
    const poll = api(B, 'GET', `/v1/approvals/${id}/decision?wait=20s`, BOB);
    let polled = false;
    void poll.then(() => (polled = true));
    await sleep(300);
    assert.equal(polled, false, 'the long-poll on B answers only once the request is decided');

    const d = await api(B, 'POST', `/v1/approvals/${id}/decisions`, ALICE, { decision: 'approve', comment: 'ok from B' });
    assert.equal(d.status, 200, JSON.stringify(d.body));
    assert.equal(d.body.state, 'approved');

    const r = await result;
    assert.ok('approval' in r, `requireApproval on A failed: ${String((r as { error: unknown }).error)}`);
    assert.equal(r.approval.id, id);
    assert.deepEqual(r.approval.approvers.map((a) => a.id), ['alice@example.com']);
    const p = await poll;
    assert.equal(p.status, 200);
    assert.equal(p.body.state, 'approved');
    assert.equal(p.body.decided, true);
    assert.deepEqual(p.body.approvals.map((a: any) => a.by.id), ['alice@example.com']);

    const onA = await until(A, id, (x) => x.state === 'approved', 'the approval');
    const onB = await until(B, id, (x) => x.state === 'approved', 'the approval');
    assert.deepEqual(shared(onA), shared(onB));
    assert.equal(onA.approvals[0].comment, 'ok from B');
  });

  it('min_approvals 2 across replicas: one approver per edge, a person counts once even on the other edge', async () => {
    const { id, result } = await open(B, { action: 'grant_role', resource: 'iam/admin', arguments: { role: 'admin', user: 'x' } });
    await until(A, id, (r) => r.state === 'pending', 'the pending request');
    const first = await api(A, 'POST', `/v1/approvals/${id}/decisions`, ALICE, { decision: 'approve' });
    assert.equal(first.status, 200, JSON.stringify(first.body));
    assert.equal(first.body.state, 'pending');
    await until(B, id, (r) => r.approvals.length === 1, "alice's approval");
    const again = await api(B, 'POST', `/v1/approvals/${id}/decisions`, ALICE, { decision: 'approve' });
    assert.equal(again.status, 409, JSON.stringify(again.body));
    const second = await api(B, 'POST', `/v1/approvals/${id}/decisions`, BOB, { decision: 'approve' });
    assert.equal(second.status, 200, JSON.stringify(second.body));
    assert.equal(second.body.state, 'approved');

    const r = await result;
    assert.ok('approval' in r, `requireApproval on B failed: ${String((r as { error: unknown }).error)}`);
    assert.deepEqual(r.approval.approvers.map((a) => a.id), ['alice@example.com', 'bob@example.com']);
    const onA = await until(A, id, (x) => x.state === 'approved', 'the approval');
    const onB = await until(B, id, (x) => x.state === 'approved', 'the approval');
    assert.deepEqual(shared(onA), shared(onB));
  });

  it('a race of approve on A and deny on B resolves identically on both edges, to the first terminal event in the topic', async (t) => {
    const races: Array<{ id: string; result: Promise<{ approval: Approval } | { error: unknown }>; answers: Array<{ status: number; body: any }> }> = [];
    for (let i = 0; i < 5; i++) {
      const { id, result } = await open(i % 2 ? B : A, { action: 'export_table' });
      await Promise.all([until(A, id, (r) => r.state === 'pending', 'the pending request'), until(B, id, (r) => r.state === 'pending', 'the pending request')]);
      const answers = await Promise.all([
        api(A, 'POST', `/v1/approvals/${id}/decisions`, ALICE, { decision: 'approve', comment: 'race: approve' }),
        api(B, 'POST', `/v1/approvals/${id}/decisions`, BOB, { decision: 'deny', comment: 'race: deny' }),
      ]);
      races.push({ id, result, answers });
    }

    // The topic's order is the truth: per partition, the chain of accepted records.
    const config = kafkaApprovalLogSchema.parse({ type: 'kafka', brokers, topic, idempotent: false });
    const parts = await readApprovalTopic(config, pino({ level: 'silent' }));
    const firstTerminal = new Map<string, ApprovalEvent>();
    const terminals = new Map<string, number>();
    for (const records of parts.values()) {
      let head = { seq: 0, hash: GENESIS_HASH };
      for (const { record } of records) {
        assert.ok(record, 'every record of the approval topic is readable');
        if (TERMINAL.has(record.type)) terminals.set(record.approvalId, (terminals.get(record.approvalId) ?? 0) + 1);
        if (judge(head, record) !== 'accepted') continue;
        head = { seq: record.seq, hash: record.hash };
        if (TERMINAL.has(record.type) && !firstTerminal.has(record.approvalId)) firstTerminal.set(record.approvalId, record);
      }
    }

    const outcomes: string[] = [];
    for (const { id, result, answers } of races) {
      const winner = firstTerminal.get(id);
      assert.ok(winner, `the topic holds a terminal event for ${id}`);
      assert.ok(winner.type === 'approved' || winner.type === 'denied', `the race ends in a decision, not ${winner.type}`);
      outcomes.push(winner.type);
      const onA = await until(A, id, (x) => x.state !== 'pending', 'the decision');
      const onB = await until(B, id, (x) => x.state !== 'pending', 'the decision');
      assert.equal(onA.state, winner.type, `edge A agrees with the topic on ${id}`);
      assert.deepEqual(shared(onA), shared(onB), `both edges show the same decision for ${id}`);
      const decider = winner.type === 'approved' ? 'alice@example.com' : 'bob@example.com';
      if (winner.type === 'approved') assert.deepEqual(onA.approvals.map((a: any) => a.by.id), [decider]);
      else assert.equal(onA.denial.by.id, decider);
      assert.equal(winner.actor?.id, decider);

      // The winning decider is told it won; the loser is never told its own verdict took effect.
      const [approve, deny] = answers;
      const won = winner.type === 'approved' ? approve! : deny!;
      const lost = winner.type === 'approved' ? deny! : approve!;
      assert.equal(won.status, 200, JSON.stringify(won.body));
      assert.equal(won.body.state, winner.type);
      assert.equal(lost.status, 409, `the losing decision is refused: HTTP ${lost.status} ${JSON.stringify(lost.body)}`);

      const r = await result;
      if (winner.type === 'approved') assert.ok('approval' in r, `requireApproval failed although approved: ${String((r as { error: unknown }).error)}`);
      else assert.ok('error' in r && r.error instanceof ApprovalDeniedError && r.error.reason === 'denied', `requireApproval must throw denied, got ${JSON.stringify(r)}`);
    }
    assert.equal(outcomes.length, 5);
    // How often both verdicts reached the topic (the loser past its own check) rather than the loser seeing the winner first.
    t.diagnostic(`outcomes: ${outcomes.join(' ')}; races with both decisions in the topic: ${races.filter((r) => (terminals.get(r.id) ?? 0) > 1).length}/5`);
  });

  it('min_approvals 2, the two approvers racing through different edges: approved on both', async () => {
    for (let i = 0; i < 3; i++) {
      const { id, result } = await open(A, { action: 'grant_role', resource: 'iam/admin', arguments: { role: 'admin', user: `u${i}` } });
      await Promise.all([until(A, id, (r) => r.state === 'pending', 'the pending request'), until(B, id, (r) => r.state === 'pending', 'the pending request')]);
      const answers = await Promise.all([api(A, 'POST', `/v1/approvals/${id}/decisions`, ALICE, { decision: 'approve' }), api(B, 'POST', `/v1/approvals/${id}/decisions`, BOB, { decision: 'approve' })]);
      assert.deepEqual(answers.map((a) => a.status), [200, 200], JSON.stringify(answers.map((a) => a.body)));
      const r = await result;
      assert.ok('approval' in r, `requireApproval failed: ${String((r as { error: unknown }).error)}`);
      const onA = await until(A, id, (x) => x.state === 'approved', 'the approval');
      const onB = await until(B, id, (x) => x.state === 'approved', 'the approval');
      assert.deepEqual(shared(onA), shared(onB));
      assert.deepEqual(onA.approvals.map((a: any) => a.by.id).sort(), ['alice@example.com', 'bob@example.com']);
    }
  });

  it('one approval, consumed through both edges at once: exactly one consume succeeds', async () => {
    for (let i = 0; i < 3; i++) {
      const { id, result } = await open(A, { action: 'export_table' });
      await until(B, id, (r) => r.state === 'pending', 'the pending request');
      assert.equal((await api(B, 'POST', `/v1/approvals/${id}/decisions`, BOB, { decision: 'approve' })).status, 200);
      const r = await result;
      assert.ok('approval' in r, `requireApproval failed: ${String((r as { error: unknown }).error)}`);
      await until(A, id, (x) => x.state === 'approved', 'the approval');
      const body = { actionHash: r.approval.actionHash };
      const answers = await Promise.all([api(A, 'POST', `/v1/approvals/${id}/consume`, AGENT, body), api(B, 'POST', `/v1/approvals/${id}/consume`, AGENT, body)]);
      assert.deepEqual(answers.map((a) => a.status).sort(), [200, 409], `one execution per approval: ${JSON.stringify(answers)}`);
      const onA = await until(A, id, (x) => x.consumedAt !== undefined, 'the consumption');
      const onB = await until(B, id, (x) => x.consumedAt !== undefined, 'the consumption');
      assert.equal(onA.consumedAt, onB.consumedAt);
    }
  });

  it('sluice audit verify accepts the approval topic (a chain per partition, race losers included)', async () => {
    const res = await runCli(['audit', 'verify', '--kafka-brokers', brokers.join(','), '--kafka-topic', topic], { env: { KAFKAJS_NO_PARTITIONER_WARNING: '1' } });
    assert.equal(res.code, 0, `stdout: ${res.stdout}\nstderr: ${res.stderr}`);
    assert.match(res.stdout + res.stderr, new RegExp(`kafka topic ${topic}`));
  });
});
