// Rebuilding from the log closes a request whose recorded approvals already
// reach min_approvals (a crash between the last approval and its `approved`).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pino } from 'pino';
import { createApprovalEngine } from '../../approvals/engine/engine.js';
import { openJournal } from '../../approvals/log/journal.js';
import type { Identity, OpenInput } from '../../approvals/types.js';

const logger = pino({ level: 'silent' });
const alice: Identity = { id: 'alice@example.com', groups: ['data-owners'], via: 'oidc' };
const bob: Identity = { id: 'bob@example.com', groups: ['data-owners'], via: 'oidc' };
const input: OpenInput = {
  approvalId: 'r1', actionHash: 'c'.repeat(64), action: 'export_table', resource: 'db', reason: '', context: {},
  requester: 'dana@example.com', agent: 'agent', traceId: '1'.repeat(32), spanId: '2'.repeat(16),
  policy: { policy: 'p', rule: 'two', approvers: { groups: ['data-owners'], users: [] }, minApprovals: 2, timeoutMs: 600_000, onTimeout: 'deny', channels: [] },
};

test('a pending request with enough recorded approvals is approved when the engine starts', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'sluice-rebuild-'));
  try {
    let log = await openJournal({ dir, logger });
    let engine = await createApprovalEngine({ log, logger });
    await engine.open(input);
    assert.equal((await engine.decide({ approvalId: 'r1', verdict: 'approve', by: alice, comment: '', channel: 'api' })).ok, true);
    // Another replica's approval landed, and the process died before `approved` was written.
    await log.append({ at: Date.now(), type: 'approval_recorded', approvalId: 'r1', actor: bob, channel: 'api', comment: '' });
    engine.close?.();
    await log.close();

    log = await openJournal({ dir, logger });
    engine = await createApprovalEngine({ log, logger });
    const r = engine.get('r1')!;
    assert.equal(r.state, 'approved');
    assert.deepEqual(r.approvals.map((a) => a.by.id), ['alice@example.com', 'bob@example.com']);
    engine.close?.();
    await log.close();
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});
