// The state machine as a reducer over log records. The live engine and a
// rebuild from the log (restart, another replica, the ClickHouse exporter's
// catch-up) apply the same function, so they agree: a transition only applies
// from the state it expects (compare-and-set), terminal states never change,
// and of two racing terminal events the first in log order wins.
import type { ApprovalEvent, ApprovalEventType, ApprovalRequest, ApprovalState, Identity } from '../types.js';

/**
 * The action was consumed (its one allowed execution started). Not yet in
 * approvals/types.ts's ApprovalEventType; written as this string until it is.
 */
export const CONSUMED = 'consumed' as ApprovalEventType;

export const DECISION_STATES: ReadonlySet<ApprovalState> = new Set(['approved', 'denied', 'expired', 'cancelled']);
export const FINAL_STATES: ReadonlySet<ApprovalState> = new Set(['denied', 'expired', 'cancelled', 'executed', 'failed']);

export interface ApprovalStateStore {
  requests: Map<string, ApprovalRequest>;
  /** Keys of violations already recorded, so a replayed span is not counted twice. */
  violations: Set<string>;
}

export function emptyState(): ApprovalStateStore {
  return { requests: new Map(), violations: new Set() };
}

/** Same human or credential: ids or emails equal, case-insensitively. */
export function samePerson(a: Identity, b: Identity): boolean {
  const ka = personKeys(a);
  for (const k of personKeys(b)) if (ka.has(k)) return true;
  return false;
}

export function personKeys(i: Identity): Set<string> {
  const s = new Set<string>();
  if (i.id) s.add(i.id.trim().toLowerCase());
  if (i.email) s.add(i.email.trim().toLowerCase());
  return s;
}

export function violationKey(type: string, data: Record<string, unknown> | undefined): string | undefined {
  if (typeof data?.dedupeKey === 'string' && data.dedupeKey) return `${type}:${data.dedupeKey}`;
  const t = data?.traceId;
  const s = data?.spanId;
  if (typeof t !== 'string' || typeof s !== 'string' || !t || !s) return undefined;
  return `${type}:${t}:${s}:${typeof data?.approvalId === 'string' ? data.approvalId : ''}`;
}

/**
 * Applies one record. Returns the request it touched (after the change), and
 * whether the record changed anything: a transition from the wrong state is
 * a no-op, which is how a later conflicting record loses.
 */
export function applyEvent(state: ApprovalStateStore, ev: ApprovalEvent): { request?: ApprovalRequest; applied: boolean } {
  if (ev.type === 'ungated' || ev.type === 'flagged') {
    const key = violationKey(ev.type, ev.data);
    if (key) state.violations.add(key);
    return { request: ev.approvalId ? state.requests.get(ev.approvalId) : undefined, applied: true };
  }
  if (ev.type === 'opened') {
    if (state.requests.has(ev.approvalId)) return { request: state.requests.get(ev.approvalId), applied: false };
    const snap = ev.data?.request as ApprovalRequest | undefined;
    if (!snap) return { applied: false };
    const req: ApprovalRequest = structuredClone(snap);
    req.state = 'pending';
    req.approvals = [];
    req.messages = [];
    delete req.denial;
    delete req.outcome;
    delete req.consumedAt;
    state.requests.set(req.id, req);
    return { request: req, applied: true };
  }
  const req = state.requests.get(ev.approvalId);
  if (!req) return { applied: false };
  const decision = () => ({ by: ev.actor as Identity, at: ev.at, comment: ev.comment ?? '', channel: ev.channel ?? '' });
  switch (ev.type) {
    case 'notified':
      req.messages.push({ channel: ev.channel ?? '', ref: { ...((ev.data?.ref as Record<string, string>) ?? {}) } });
      return { request: req, applied: true };
    case 'approval_recorded':
      if (req.state !== 'pending' || !ev.actor || req.approvals.some((a) => samePerson(a.by, ev.actor as Identity))) return { request: req, applied: false };
      req.approvals.push(decision());
      return { request: req, applied: true };
    case 'approved':
      if (req.state !== 'pending') return { request: req, applied: false };
      if (ev.actor && !req.approvals.some((a) => samePerson(a.by, ev.actor as Identity))) req.approvals.push(decision());
      req.state = 'approved';
      return { request: req, applied: true };
    case 'denied':
      if (req.state !== 'pending') return { request: req, applied: false };
      req.state = 'denied';
      if (ev.actor) req.denial = decision();
      return { request: req, applied: true };
    case 'expired':
    case 'cancelled':
      if (req.state !== 'pending') return { request: req, applied: false };
      req.state = ev.type;
      if (ev.type === 'cancelled' && ev.actor) req.denial = decision();
      return { request: req, applied: true };
    case CONSUMED:
      if (req.state !== 'approved' || req.consumedAt !== undefined) return { request: req, applied: false };
      req.consumedAt = ev.at;
      return { request: req, applied: true };
    case 'executed':
    case 'failed':
      if (req.state !== 'approved') return { request: req, applied: false };
      req.state = ev.type;
      req.outcome = { at: ev.at, status: ev.type, detail: typeof ev.data?.detail === 'string' ? ev.data.detail : '' };
      return { request: req, applied: true };
    case 'decision_refused':
      return { request: req, applied: true };
    default:
      return { request: req, applied: false };
  }
}

/** When the approval was given: the time of the approval that completed it. */
export function approvedAt(req: ApprovalRequest): number | undefined {
  if (req.state !== 'approved' && req.state !== 'executed' && req.state !== 'failed') return undefined;
  let at = 0;
  for (const a of req.approvals) at = Math.max(at, a.at);
  return at || undefined;
}
