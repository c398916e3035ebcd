// What the API answers about a request. Identities are reduced to who they
// are and how they were verified: scopes and agent flags stay inside.
import type { ApprovalRequest, Identity } from '../types.js';
import { DECIDED_STATES } from '../types.js';

export interface PublicIdentity {
  id: string;
  name?: string;
  via: Identity['via'];
}

export interface DecisionView {
  id: string;
  state: ApprovalRequest['state'];
  decided: boolean;
  actionHash: string;
  expiresAt: number;
  approvals: Array<{ by: PublicIdentity; at: number; channel: string; comment: string }>;
  denial?: { by: PublicIdentity; at: number; channel: string; comment: string };
  minApprovals: number;
}

export function publicIdentity(i: Identity): PublicIdentity {
  return i.name ? { id: i.id, name: i.name, via: i.via } : { id: i.id, via: i.via };
}

export function requestView(r: ApprovalRequest) {
  return {
    ...r,
    approvals: r.approvals.map((a) => ({ ...a, by: publicIdentity(a.by) })),
    denial: r.denial ? { ...r.denial, by: publicIdentity(r.denial.by) } : undefined,
  };
}

export function decisionView(r: ApprovalRequest): DecisionView {
  return {
    id: r.id,
    state: r.state,
    decided: DECIDED_STATES.includes(r.state),
    actionHash: r.actionHash,
    expiresAt: r.expiresAt,
    approvals: r.approvals.map((a) => ({ by: publicIdentity(a.by), at: a.at, channel: a.channel, comment: a.comment })),
    denial: r.denial ? { by: publicIdentity(r.denial.by), at: r.denial.at, channel: r.denial.channel, comment: r.denial.comment } : undefined,
    minApprovals: r.policy.minApprovals,
  };
}
