// The approvals engine: the state machine of approvals/types.ts on top of an
// ApprovalLog. Each operation on a request runs under that request's lock:
// check the current state, append the event (durable), apply it with the
// reducer, and only then resolve, wake waiters and call listeners. So nothing
// outside ever sees a state the log does not hold, and a crash at any point
// loses only what nobody was told about.
import { timingSafeEqual } from 'node:crypto';
import type { Logger } from 'pino';
import type { SelfMetrics } from '../../pipeline/telemetry/metrics.js';
import type { ApprovalLog, NewApprovalEvent } from '../log/types.js';
import type { PolicySource } from '../policy/holder.js';
import type {
  ApprovalEngine,
  ApprovalEvent,
  ApprovalEventListener,
  ApprovalRequest,
  ApprovalState,
  DecisionInput,
  DecisionResult,
  Identity,
  OpenInput,
} from '../types.js';
import { checkEligibility } from './eligibility.js';
import { applyEvent, approvedAt, CONSUMED, emptyState, samePerson, violationKey, type ApprovalStateStore } from './reducer.js';

export interface ApprovalEngineOptions {
  log: ApprovalLog;
  logger: Logger;
  metrics?: SelfMetrics;
  /** Milliseconds since the epoch; injectable for tests. */
  now?: () => number;
  /** How long after approval the action may be consumed (default 10 minutes). */
  consumeWindowMs?: number;
  /** The policy in force, for the privileged processor to read (the engine itself only uses snapshots). */
  policy?: PolicySource;
}

/** The identity the engine records for its own transitions (expiry). */
export const SYSTEM_IDENTITY: Identity = { id: 'system:sluice', name: 'Sluice', groups: [], via: 'dev' };

const MAX_TIMER_MS = 2 ** 31 - 1;

/** Builds the engine and rebuilds its state from the log (expiring what expired while it was down). */
export async function createApprovalEngine(opts: ApprovalEngineOptions): Promise<LocalApprovalEngine> {
  const engine = new LocalApprovalEngine(opts);
  await engine.rebuild();
  // A shared log: what other replicas decide becomes this replica's state too.
  opts.log.follow?.((event) => engine.applyReplicated(event));
  return engine;
}

export class LocalApprovalEngine implements ApprovalEngine {
  readonly policy?: PolicySource;
  private readonly state: ApprovalStateStore = emptyState();
  /** Listener → whether it also hears records that changed nothing. */
  private readonly listeners = new Map<ApprovalEventListener, boolean>();
  private readonly waiters = new Map<string, Set<() => void>>();
  private readonly timers = new Map<string, NodeJS.Timeout>();
  private readonly locks = new Map<string, Promise<unknown>>();
  private readonly now: () => number;
  private readonly consumeWindowMs: number;
  private closed = false;

  constructor(private readonly opts: ApprovalEngineOptions) {
    this.now = opts.now ?? Date.now;
    this.consumeWindowMs = opts.consumeWindowMs ?? 10 * 60_000;
    this.policy = opts.policy;
  }

  async rebuild(): Promise<void> {
    let n = 0;
    for await (const ev of this.opts.log.readAll()) {
      applyEvent(this.state, ev);
      n++;
    }
    let pending = 0;
    const complete: ApprovalRequest[] = [];
    for (const req of this.state.requests.values()) {
      if (req.state !== 'pending') continue;
      // A crash between the approval that reached min_approvals and its
      // `approved` record (possible when approvals race on a shared log)
      // leaves a request pending with enough approvers: close it now.
      if (req.approvals.length >= req.policy.minApprovals && req.expiresAt > this.now()) complete.push(req);
      else {
        pending++;
        this.armExpiry(req);
      }
    }
    for (const req of complete) {
      const last = req.approvals[req.approvals.length - 1] as ApprovalRequest['approvals'][number];
      await this.withLock(req.id, () =>
        this.commit({ at: this.now(), type: 'approved', approvalId: req.id, actor: last.by, channel: last.channel, comment: 'completed at start: the recorded approvals already reached min_approvals' }),
      );
    }
    this.opts.logger.info({ events: n, requests: this.state.requests.size, pending }, 'approvals engine rebuilt from the log');
  }

  /**
   * An event another replica appended to a shared log: apply it with the same
   * reducer, re-arm or clear expiry, wake long-polls. It is not written again
   * and not announced to listeners: the replica that committed it did that.
   */
  applyReplicated(stored: ApprovalEvent): void {
    const { request } = applyEvent(this.state, stored);
    if (!request) return;
    if (request.state === 'pending') {
      if (stored.type === 'opened') this.armExpiry(request);
      return;
    }
    this.settled(request.id);
  }

  /** A request left `pending`: its expiry timer is moot and its long-polls answer now. */
  private settled(id: string): void {
    const t = this.timers.get(id);
    if (t) {
      clearTimeout(t);
      this.timers.delete(id);
    }
    const set = this.waiters.get(id);
    if (set) for (const w of [...set]) w();
  }

  // ---- reads ----

  get(id: string): ApprovalRequest | undefined {
    const r = this.state.requests.get(id);
    return r && structuredClone(r);
  }

  list(filter: { state?: ApprovalState; limit?: number } = {}): ApprovalRequest[] {
    const limit = filter.limit ?? 100;
    const out: ApprovalRequest[] = [];
    for (const r of this.state.requests.values()) if (!filter.state || r.state === filter.state) out.push(r);
    out.sort((a, b) => b.createdAt - a.createdAt || (a.id < b.id ? -1 : 1));
    return out.slice(0, limit).map((r) => structuredClone(r));
  }

  onEvent(listener: ApprovalEventListener, opts: { all?: boolean } = {}): () => void {
    this.listeners.set(listener, opts.all === true);
    return () => this.listeners.delete(listener);
  }

  waitForDecision(id: string, timeoutMs: number): Promise<ApprovalRequest | undefined> {
    const settled = () => {
      const r = this.state.requests.get(id);
      return r !== undefined && r.state !== 'pending';
    };
    if (settled() || timeoutMs <= 0 || this.closed) return Promise.resolve(this.get(id));
    return new Promise((resolve) => {
      let set = this.waiters.get(id);
      if (!set) this.waiters.set(id, (set = new Set()));
      const done = () => {
        clearTimeout(timer);
        set.delete(done);
        if (set.size === 0 && this.waiters.get(id) === set) this.waiters.delete(id);
        resolve(this.get(id));
      };
      const timer = setTimeout(done, Math.min(timeoutMs, MAX_TIMER_MS));
      set.add(done);
    });
  }

  // ---- writes ----

  open(input: OpenInput): Promise<{ request: ApprovalRequest; created: boolean }> {
    if (!input.approvalId) return Promise.reject(new Error('open: approvalId is empty; the intent span must carry sluice.approval.id'));
    return this.withLock(input.approvalId, async () => {
      const existing = this.state.requests.get(input.approvalId);
      if (existing) return { request: structuredClone(existing), created: false };
      const at = this.now();
      const request: ApprovalRequest = {
        id: input.approvalId,
        state: 'pending',
        createdAt: at,
        expiresAt: at + input.policy.timeoutMs,
        actionHash: input.actionHash,
        action: input.action,
        resource: input.resource,
        reason: input.reason,
        context: { ...input.context },
        requester: input.requester,
        agent: input.agent,
        traceId: input.traceId,
        spanId: input.spanId,
        policy: structuredClone(input.policy),
        approvals: [],
        messages: [],
      };
      const { request: req } = await this.commit({ at, type: 'opened', approvalId: request.id, data: { request } });
      this.armExpiry(req as ApprovalRequest);
      return { request: structuredClone(req as ApprovalRequest), created: true };
    });
  }

  decide(input: DecisionInput): Promise<DecisionResult> {
    return this.withLock(input.approvalId, async (): Promise<DecisionResult> => {
      const req = this.state.requests.get(input.approvalId);
      if (!req) return { ok: false, status: 404, reason: `no approval request with id ${input.approvalId}` };
      if (req.state !== 'pending') return { ok: false, status: 409, reason: `request is already ${req.state}`, request: structuredClone(req) };
      const base = { approvalId: req.id, actor: input.by, channel: input.channel, comment: input.comment };
      const elig = checkEligibility(req, input.by);
      if (!elig.ok) {
        // The refused attempt is itself part of the audit trail.
        await this.commit({ ...base, at: this.now(), type: 'decision_refused', data: { verdict: input.verdict, reason: elig.reason, status: 403 } });
        return { ok: false, status: 403, reason: elig.reason, request: structuredClone(req) };
      }
      if (input.verdict === 'deny') {
        return this.outcome(await this.commit({ ...base, at: this.now(), type: 'denied' }));
      }
      if (req.approvals.some((a) => samePerson(a.by, input.by))) {
        const need = req.policy.minApprovals - req.approvals.length;
        return { ok: false, status: 409, reason: `you already approved this request; it needs ${need} more distinct approver(s)`, request: structuredClone(req) };
      }
      const type = req.approvals.length + 1 >= req.policy.minApprovals ? 'approved' : 'approval_recorded';
      const c = await this.commit({ ...base, at: this.now(), type });
      const r = c.request as ApprovalRequest;
      // On a shared log, approvers racing through other replicas may each have
      // recorded "one more approval": whoever's record completes the count closes it.
      if (c.applied && type === 'approval_recorded' && r.state === 'pending' && r.approvals.length >= r.policy.minApprovals) {
        return this.outcome(await this.commit({ ...base, at: this.now(), type: 'approved' }));
      }
      return this.outcome(c);
    });
  }

  cancel(id: string, by: Identity, comment: string): Promise<DecisionResult> {
    return this.withLock(id, async (): Promise<DecisionResult> => {
      const req = this.state.requests.get(id);
      if (!req) return { ok: false, status: 404, reason: `no approval request with id ${id}` };
      if (req.state !== 'pending') return { ok: false, status: 409, reason: `request is already ${req.state}`, request: structuredClone(req) };
      return this.outcome(await this.commit({ at: this.now(), type: 'cancelled', approvalId: id, actor: by, comment, channel: 'api' }));
    });
  }

  consume(id: string, actionHash: string, by?: Identity): Promise<DecisionResult> {
    return this.withLock(id, async (): Promise<DecisionResult> => {
      const req = this.state.requests.get(id);
      if (!req) return { ok: false, status: 404, reason: `no approval request with id ${id}` };
      const at = this.now();
      const refuse = async (reason: string): Promise<DecisionResult> => {
        await this.commit({ at, type: 'decision_refused', approvalId: id, actor: by, channel: 'api', data: { op: 'consume', reason, status: 409 } });
        return { ok: false, status: 409, reason, request: structuredClone(req) };
      };
      if (req.state !== 'approved') return refuse(`request is ${req.state}, not approved`);
      if (req.consumedAt !== undefined) return refuse('this approval was already used; an approval allows one execution');
      if (!hashEquals(req.actionHash, actionHash)) return refuse('the action differs from the approved one (action hash mismatch)');
      const until = (approvedAt(req) ?? req.createdAt) + this.consumeWindowMs;
      if (at > until) return refuse(`the approval was valid until ${new Date(until).toISOString()}; request a new one`);
      return this.outcome(await this.commit({ at, type: CONSUMED, approvalId: id, actor: by, channel: 'api' }));
    });
  }

  recordOutcome(id: string, outcome: { actionHash: string; status: 'executed' | 'failed'; detail: string }): Promise<void> {
    return this.withLock(id, async () => {
      const req = this.state.requests.get(id);
      const at = this.now();
      if (req && (req.state === 'executed' || req.state === 'failed')) return; // a replayed action span
      let why: string | undefined;
      if (!req) why = 'the action span names an approval that does not exist';
      else if (req.state !== 'approved') why = `the action ran while its request was ${req.state}`;
      else if (!hashEquals(req.actionHash, outcome.actionHash)) why = 'the action that ran differs from the approved one (action hash mismatch)';
      if (why) {
        await this.violation('ungated', { approvalId: id, reason: why, status: outcome.status, dedupeKey: `outcome:${id}:${outcome.status}` });
        return;
      }
      await this.commit({ at, type: outcome.status, approvalId: id, data: { detail: outcome.detail, actionHash: outcome.actionHash, consumed: req?.consumedAt !== undefined } });
    });
  }

  recordViolation(type: 'ungated' | 'flagged', data: Record<string, unknown>): Promise<void> {
    const key = violationKey(type, data);
    return key ? this.withLock(`violation:${key}`, () => this.violation(type, data)) : this.violation(type, data);
  }

  recordNotified(id: string, channel: string, ref: Record<string, string>): Promise<void> {
    return this.withLock(id, async () => {
      if (!this.state.requests.has(id)) throw new Error(`recordNotified: no approval request with id ${id}`);
      await this.commit({ at: this.now(), type: 'notified', approvalId: id, channel, data: { ref: { ...ref } } });
    });
  }

  /** Expires every pending request whose time is up (timers call this; so can tests with an injected clock). */
  async expireDue(): Promise<number> {
    const now = this.now();
    const due = [...this.state.requests.values()].filter((r) => r.state === 'pending' && r.expiresAt <= now).map((r) => r.id);
    await Promise.all(due.map((id) => this.expire(id)));
    return due.length;
  }

  /** Stops timers and wakes every waiter with the current state; in-flight operations finish. The log is the caller's to close. */
  async close(): Promise<void> {
    this.closed = true;
    for (const t of this.timers.values()) clearTimeout(t);
    this.timers.clear();
    await Promise.allSettled([...this.locks.values()]);
    for (const set of [...this.waiters.values()]) for (const w of [...set]) w();
  }

  // ---- internals ----

  /** Callers hold whatever lock they need; this only dedupes and appends. */
  private async violation(type: 'ungated' | 'flagged', data: Record<string, unknown>): Promise<void> {
    const key = violationKey(type, data);
    if (key && this.state.violations.has(key)) return; // the same span replayed
    await this.commit({ at: this.now(), type, approvalId: typeof data.approvalId === 'string' ? data.approvalId : '', data: jsonSafe(data) as Record<string, unknown> });
  }

  private expire(id: string): Promise<void> {
    return this.withLock(id, async () => {
      const req = this.state.requests.get(id);
      if (!req || req.state !== 'pending') return;
      if (req.expiresAt > this.now()) {
        this.armExpiry(req);
        return;
      }
      await this.commit({ at: this.now(), type: 'expired', approvalId: id, actor: SYSTEM_IDENTITY, comment: `no decision within ${Math.round(req.policy.timeoutMs / 1000)}s; on_timeout: deny` });
    });
  }

  private armExpiry(req: ApprovalRequest): void {
    if (this.closed) return;
    clearTimeout(this.timers.get(req.id));
    const delay = Math.max(0, Math.min(req.expiresAt - this.now(), MAX_TIMER_MS));
    const t = setTimeout(() => {
      this.timers.delete(req.id);
      this.expire(req.id).catch((err: Error) => {
        this.opts.logger.error({ approvalId: req.id, err: err.message }, 'could not record expiry; retrying');
        const retry = setTimeout(() => this.armExpiry(req), 1000);
        retry.unref();
      });
    }, delay);
    t.unref();
    this.timers.set(req.id, t);
  }

  /**
   * Append (durable), apply, then tell the world: waiters, metrics, listeners.
   * A record that lost a race (applied: false) is told only to listeners that
   * asked for every record; the others would announce a decision that did not happen.
   */
  private async commit(event: NewApprovalEvent): Promise<{ event: ApprovalEvent; request?: ApprovalRequest; applied: boolean }> {
    const stored = await this.opts.log.append(event);
    const { request, applied } = applyEvent(this.state, stored);
    if (request && request.state !== 'pending') this.settled(request.id);
    this.opts.metrics?.approvalEvents.inc({ type: stored.type });
    if (this.listeners.size > 0) {
      const snapshot = request && structuredClone(request);
      const info = { applied };
      for (const [l, all] of this.listeners) {
        if (!applied && !all) continue;
        try {
          l(stored, snapshot, info);
        } catch (err) {
          this.opts.logger.error({ err: (err as Error).message, type: stored.type }, 'approval event listener threw');
        }
      }
    }
    return { event: stored, request, applied };
  }

  /**
   * On a shared log another replica's event may land between our check and our
   * append (two approvers racing through two edges): our record is then in the
   * log but the reducer ignored it. The caller must hear 409, never that its
   * verdict, cancel or consume took effect.
   */
  private outcome(c: { request?: ApprovalRequest; applied: boolean }): DecisionResult {
    const request = c.request as ApprovalRequest;
    if (!c.applied) return { ok: false, status: 409, reason: `another replica changed this request first: it is ${request.state}${request.consumedAt !== undefined ? ' and already used' : ''}`, request: structuredClone(request) };
    return { ok: true, request: structuredClone(request) };
  }

  private async withLock<T>(key: string, fn: () => Promise<T>): Promise<T> {
    const prev = this.locks.get(key);
    const run = (prev ? prev.then(noop, noop) : Promise.resolve()).then(fn);
    const tail = run.then(noop, noop);
    this.locks.set(key, tail);
    try {
      return await run;
    } finally {
      if (this.locks.get(key) === tail) this.locks.delete(key);
    }
  }
}

function noop(): void {}

function hashEquals(a: string, b: string): boolean {
  if (!a || !b || a.length !== b.length) return false;
  return timingSafeEqual(Buffer.from(a), Buffer.from(b));
}

/** Violation data comes from spans: make it plain JSON (bigint → string) before it is hashed. */
function jsonSafe(v: unknown): unknown {
  if (typeof v === 'bigint') return v.toString();
  if (Array.isArray(v)) return v.map(jsonSafe);
  if (v instanceof Uint8Array) return Buffer.from(v).toString('base64');
  if (v && typeof v === 'object') {
    const o: Record<string, unknown> = {};
    for (const [k, x] of Object.entries(v)) if (x !== undefined) o[k] = jsonSafe(x);
    return o;
  }
  return v;
}
