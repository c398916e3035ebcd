import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Fastify, { type FastifyInstance } from 'fastify';
import { pino } from 'pino';
import { BasicTracerProvider, SimpleSpanProcessor, type ReadableSpan, type SpanExporter } from '@opentelemetry/sdk-trace-base';
import { ExportResultCode, type ExportResult } from '@opentelemetry/core';
import { authConfigSchema } from '../../approvals/auth/config.js';
import { createAuthenticator } from '../../approvals/auth/authenticate.js';
import { registerApprovalsApi } from '../../approvals/api/routes.js';
import { createApprovalEngine, type LocalApprovalEngine } from '../../approvals/engine/engine.js';
import { openJournal, type JournalLog } from '../../approvals/log/journal.js';
import { ApprovalAttr, type ApprovalEvent } from '../../approvals/types.js';
import { actionHash, ApprovalDeniedError, canonicalJson, requireApproval, withApproval } from '../../sdk/index.js';

const logger = pino({ level: 'silent' });
const AGENT = 'agent-token-0123456789abcdef';
const DECIDER = 'decider-token-0123456789abcdef';
const alice = { id: 'alice@example.com', groups: ['data-owners'], via: 'oidc' as const };

// Stands in for the pipeline's privileged processor: intent spans open
// requests, action spans record outcomes. (test/e2e runs the real pipeline.)
class EngineExporter implements SpanExporter {
  spans: ReadableSpan[] = [];
  open = true;
  constructor(private readonly engine: () => LocalApprovalEngine) {}
  export(spans: ReadableSpan[], done: (r: ExportResult) => void) {
    this.spans.push(...spans);
    void (async () => {
      for (const s of spans) {
        const a = s.attributes;
        const id = String(a[ApprovalAttr.id] ?? '');
        if (a[ApprovalAttr.phase] === 'request' && this.open) {
          await this.engine().open({
            approvalId: id,
            actionHash: String(a[ApprovalAttr.hash]),
            action: String(a[ApprovalAttr.action]),
            resource: String(a[ApprovalAttr.resource]),
            reason: String(a[ApprovalAttr.reason]),
            context: { [ApprovalAttr.args]: String(a[ApprovalAttr.args]) },
            requester: String(a['enduser.id'] ?? ''),
            agent: 'sdk-test-agent',
            traceId: s.spanContext().traceId,
            spanId: s.spanContext().spanId,
            policy: { policy: 'p', rule: 'exports', approvers: { groups: ['data-owners'], users: [] }, minApprovals: 1, timeoutMs: Number(a['test.timeout_ms'] ?? 60_000), onTimeout: 'deny', channels: [] },
          });
        } else if (a[ApprovalAttr.phase] === 'execute') {
          await this.engine().recordOutcome(id, { actionHash: String(a[ApprovalAttr.hash]), status: s.status.code === 2 ? 'failed' : 'executed', detail: s.status.message ?? '' });
        }
      }
    })().then(() => done({ code: ExportResultCode.SUCCESS }), (error: Error) => done({ code: ExportResultCode.FAILED, error }));
  }
  async shutdown() {}
}

describe('canonical action hash', () => {
  it('is independent of key order and sensitive to every argument', () => {
    assert.equal(canonicalJson({ b: 1, a: { d: [1, { y: 2, x: 1 }], c: null } }), '{"a":{"c":null,"d":[1,{"x":1,"y":2}]},"b":1}');
    const h = actionHash({ action: 'export_table', resource: 'db.t', arguments: { table: 't', limit: 10 } });
    assert.equal(h, actionHash({ action: 'export_table', resource: 'db.t', arguments: { limit: 10, table: 't' } }));
    assert.notEqual(h, actionHash({ action: 'export_table', resource: 'db.t', arguments: { limit: 11, table: 't' } }));
    assert.notEqual(h, actionHash({ action: 'export_table', resource: 'db.u', arguments: { limit: 10, table: 't' } }));
    assert.match(h, /^[0-9a-f]{64}$/);
  });
});

describe('sdk against the approvals API and engine', () => {
  let dir: string;
  let log: JournalLog;
  let engine: LocalApprovalEngine;
  let app: FastifyInstance;
  let endpoint: string;
  let provider: BasicTracerProvider;
  let exporter: EngineExporter;
  const events: ApprovalEvent[] = [];

  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'sluice-sdk-'));
    log = await openJournal({ dir, logger });
    engine = await createApprovalEngine({ log, logger });
    engine.onEvent((e) => events.push(e));
    app = Fastify();
    const auth = createAuthenticator(
      authConfigSchema.parse({
        tokens: [
          { name: 'agent', value: AGENT, scopes: ['ingest', 'request'] },
          { name: 'decider', value: DECIDER, scopes: ['read', 'decide'], identity: { id: 'bob@example.com', groups: ['data-owners'] } },
        ],
      }),
    );
    await registerApprovalsApi(app, { engine, auth, logger });
    endpoint = await app.listen({ port: 0, host: '127.0.0.1' });
    exporter = new EngineExporter(() => engine);
    provider = new BasicTracerProvider({ spanProcessors: [new SimpleSpanProcessor(exporter)] });
  });
  after(async () => {
    await provider.shutdown();
    await app.close();
    await engine.close();
    await log.close();
    await rm(dir, { recursive: true, force: true });
  });

  const ask = (over: Partial<Parameters<typeof requireApproval>[0]> = {}) =>
    requireApproval({
      action: 'export_table',
      resource: 'warehouse.customers',
      reason: 'quarterly report',
      arguments: { table: 'customers', to: 'dana@example.com' },
      attributes: { 'enduser.id': 'dana@example.com' },
      endpoint,
      token: AGENT,
      tracerProvider: provider,
      timeoutMs: 10_000,
      ...over,
    });
  const decideWhenOpen = async (verdict: 'approve' | 'deny', comment = '') => {
    const opened = await new Promise<string>((resolve) => {
      const off = engine.onEvent((e) => {
        if (e.type === 'opened') {
          off();
          resolve(e.approvalId);
        }
      });
    });
    const r = await engine.decide({ approvalId: opened, verdict, by: alice, comment, channel: 'api' });
    assert.ok(r.ok);
    return opened;
  };

  it('emits the intent span, waits, and resolves on approval; withApproval consumes once and records the outcome', async () => {
    const [approval, id] = await Promise.all([ask(), decideWhenOpen('approve')]);
    assert.equal(approval.id, id);
    assert.equal(approval.state, 'approved');
    assert.deepEqual(approval.approvers.map((a) => a.id), ['alice@example.com']);
    const intent = exporter.spans.find((s) => s.attributes[ApprovalAttr.id] === id && s.attributes[ApprovalAttr.phase] === 'request')!;
    assert.equal(intent.name, 'sluice.approval.request export_table');
    assert.equal(intent.attributes[ApprovalAttr.hash], actionHash({ action: 'export_table', resource: 'warehouse.customers', arguments: { table: 'customers', to: 'dana@example.com' } }));
    assert.equal(intent.attributes['gen_ai.tool.name'], 'export_table');
    assert.equal(intent.attributes[ApprovalAttr.args], '{"table":"customers","to":"dana@example.com"}');

    const ran = await withApproval(approval, async () => 'exported');
    assert.equal(ran, 'exported');
    const action = exporter.spans.find((s) => s.attributes[ApprovalAttr.id] === id && s.attributes[ApprovalAttr.phase] === 'execute')!;
    assert.equal(action.links[0].context.spanId, intent.spanContext().spanId);
    assert.equal(engine.get(id)!.state, 'executed');

    let ranTwice = false;
    await assert.rejects(
      withApproval(approval, async () => (ranTwice = true)),
      (e: unknown) => e instanceof ApprovalDeniedError && e.reason === 'consume_refused',
    );
    assert.equal(ranTwice, false, 'a second execution is refused before fn runs');
  });

  it('records a failed action and rethrows its error', async () => {
    const [approval, id] = await Promise.all([ask({ arguments: { table: 'orders' } }), decideWhenOpen('approve')]);
    await assert.rejects(withApproval(approval, async () => {
      throw new Error('disk full');
    }), /disk full/);
    assert.equal(engine.get(id)!.state, 'failed');
  });

  it('throws ApprovalDeniedError with who and why on deny', async () => {
    const [result] = await Promise.allSettled([ask(), decideWhenOpen('deny', 'no DPA')]);
    assert.equal(result.status, 'rejected');
    const err = (result as PromiseRejectedResult).reason;
    assert.ok(err instanceof ApprovalDeniedError);
    assert.equal(err.reason, 'denied');
    assert.equal(err.decidedBy?.id, 'alice@example.com');
    assert.equal(err.decidedBy?.comment, 'no DPA');
  });

  it('fails closed on expiry', async () => {
    await assert.rejects(ask({ attributes: { 'enduser.id': 'dana@example.com', 'test.timeout_ms': 50 } }), (e: unknown) => e instanceof ApprovalDeniedError && e.reason === 'expired');
  });

  it('fails closed on its own timeout, and withdraws the request', async () => {
    const err = await ask({ timeoutMs: 300, pollMs: 100 }).catch((e: unknown) => e);
    assert.ok(err instanceof ApprovalDeniedError);
    assert.equal(err.reason, 'timeout');
    assert.equal(engine.get(err.approvalId!)!.state, 'cancelled');
  });

  it('fails closed when the request never opens (span lost / no rule matched)', async () => {
    exporter.open = false;
    try {
      await assert.rejects(ask({ openTimeoutMs: 200 }), (e: unknown) => e instanceof ApprovalDeniedError && e.reason === 'not_opened');
    } finally {
      exporter.open = true;
    }
  });

  it('fails closed on a bad token (401)', async () => {
    await assert.rejects(ask({ token: 'wrong-token-0123456789' }), (e: unknown) => e instanceof ApprovalDeniedError && e.reason === 'http_error' && /401/.test(e.message));
  });
});

describe('sdk fail-closed without a working API', () => {
  let provider: BasicTracerProvider;
  let server: Server;
  let status = 500;
  before(async () => {
    provider = new BasicTracerProvider();
    server = createServer((_req, res) => {
      res.writeHead(status, { 'content-type': 'application/json' });
      res.end(status === 200 ? '{"id":"x","state":"approved","actionHash":"' + 'f'.repeat(64) + '","approvals":[]}' : '{"error":"internal","message":"boom"}');
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  });
  after(async () => {
    await provider.shutdown();
    await new Promise<void>((r) => server.close(() => r()));
  });
  const url = () => `http://127.0.0.1:${(server.address() as AddressInfo).port}`;

  it('unreachable API → ApprovalDeniedError(unreachable)', async () => {
    // A port that was just free: nothing listens there.
    const probe = createServer();
    await new Promise<void>((r) => probe.listen(0, '127.0.0.1', r));
    const port = (probe.address() as AddressInfo).port;
    await new Promise<void>((r) => probe.close(() => r()));
    await assert.rejects(
      requireApproval({ action: 'grant_role', endpoint: `http://127.0.0.1:${port}`, tracerProvider: provider, timeoutMs: 10_000 }),
      (e: unknown) => e instanceof ApprovalDeniedError && e.reason === 'unreachable',
    );
  });

  it('HTTP 500 → ApprovalDeniedError(http_error)', async () => {
    status = 500;
    await assert.rejects(
      requireApproval({ action: 'grant_role', endpoint: url(), tracerProvider: provider }),
      (e: unknown) => e instanceof ApprovalDeniedError && e.reason === 'http_error' && /500/.test(e.message),
    );
  });

  it('an approval for another action hash is refused', async () => {
    status = 200;
    await assert.rejects(
      requireApproval({ action: 'grant_role', endpoint: url(), tracerProvider: provider }),
      (e: unknown) => e instanceof ApprovalDeniedError && /hash mismatch/.test(e.message),
    );
  });

  it('a failing flush (span cannot be sent) → unreachable; a missing action → error', async () => {
    const broken = { getTracer: provider.getTracer.bind(provider), forceFlush: async () => Promise.reject(new Error('export failed')) };
    await assert.rejects(
      requireApproval({ action: 'grant_role', endpoint: url(), tracerProvider: broken }),
      (e: unknown) => e instanceof ApprovalDeniedError && e.reason === 'unreachable',
    );
    await assert.rejects(requireApproval({ action: '', endpoint: url(), tracerProvider: provider }), ApprovalDeniedError);
  });
});
