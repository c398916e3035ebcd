// The built-in eligibility rules, directly: what no policy can change.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { checkEligibility } from '../../approvals/engine/eligibility.js';
import type { ApprovalRequest, Identity } from '../../approvals/types.js';

const request = (over: Partial<ApprovalRequest> = {}): ApprovalRequest => ({
  id: 'r1', state: 'pending', createdAt: 0, expiresAt: 1, actionHash: 'h', action: 'export_table', resource: 'db', reason: '', context: {},
  requester: 'dana@example.com', agent: 'report-agent', traceId: '', spanId: '', approvals: [], messages: [],
  policy: { policy: 'p', rule: 'export', approvers: { groups: ['data-owners'], users: [] }, minApprovals: 1, timeoutMs: 1, onTimeout: 'deny', channels: [] },
  ...over,
});
const alice: Identity = { id: 'alice@example.com', email: 'alice@example.com', groups: ['data-owners'], via: 'oidc' };

test('an eligible approver may decide', () => {
  assert.deepEqual(checkEligibility(request(), alice), { ok: true });
});

test('the requester may not, whatever their groups, and case does not matter', () => {
  const dana: Identity = { id: 'DANA@example.com', groups: ['data-owners'], via: 'oidc' };
  assert.equal(checkEligibility(request(), dana).ok, false);
});

test('a requester masked by redaction fails closed for everyone', () => {
  for (const masked of ['[REDACTED:email]', '[email:1f3a9c0b]']) {
    const r = checkEligibility(request({ requester: masked }), alice);
    assert.equal(r.ok, false);
    assert.match((r as { reason: string }).reason, /redacted upstream/);
  }
  assert.equal(checkEligibility(request({ agent: '[REDACTED:person]' }), alice).ok, false);
});

test('agent credentials and tokens without decide never decide', () => {
  assert.equal(checkEligibility(request(), { ...alice, via: 'token', scopes: ['decide', 'request'], agent: true }).ok, false);
  assert.equal(checkEligibility(request(), { ...alice, via: 'token', scopes: ['read'] }).ok, false);
});
