// Who may decide a request. Built in and not configurable: no policy, admin
// role or group can let a requester approve their own action, or let an
// agent's credentials decide anything.
import type { ApprovalRequest, Identity } from '../types.js';

export type Eligibility = { ok: true } | { ok: false; reason: string };

function norm(s: string | undefined): string {
  return (s ?? '').trim().toLowerCase();
}

/** True if the identity is the named subject (an `enduser.id`, an agent name). Empty names match nobody. */
function isSubject(by: Identity, subject: string): boolean {
  const s = norm(subject);
  if (!s) return false;
  const id = norm(by.id);
  return id === s || norm(by.email) === s || (id.startsWith('token:') && id.slice(6) === s);
}

// What the redaction processor writes in place of a value: `[REDACTED:email]`,
// `[email:1f3a9c0b]`. A requester that reads like this was masked upstream, so
// nobody can be shown not to be the requester: fail closed.
const REDACTION_MARK = /\[(REDACTED:[a-z0-9_]+|[a-z0-9_]+:[0-9a-f]{8})\]/;

export function checkEligibility(req: ApprovalRequest, by: Identity): Eligibility {
  if (REDACTION_MARK.test(req.requester) || REDACTION_MARK.test(req.agent)) {
    return { ok: false, reason: 'the requester identity was redacted upstream, so self-approval cannot be ruled out; allow-list enduser.id in the redaction processor' };
  }
  if (by.agent === true) return { ok: false, reason: 'agent credentials can never decide an approval' };
  if (by.via === 'token' && !(by.scopes ?? []).includes('decide')) return { ok: false, reason: 'this API token lacks the "decide" scope' };
  if (isSubject(by, req.requester)) return { ok: false, reason: 'the requester cannot decide their own request' };
  if (isSubject(by, req.agent)) return { ok: false, reason: 'the requesting agent cannot decide its own request' };
  const users = new Set(req.policy.approvers.users.map(norm));
  if (users.has(norm(by.id)) || (by.email && users.has(norm(by.email)))) return { ok: true };
  const groups = new Set(req.policy.approvers.groups.map(norm));
  if (by.groups.some((g) => groups.has(norm(g)))) return { ok: true };
  return { ok: false, reason: `not an approver under rule "${req.policy.rule}" (needs one of groups [${req.policy.approvers.groups.join(', ')}] or a listed user)` };
}
