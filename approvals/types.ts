// The contract between the approvals engine (state machine + log) and the
// places decisions are made (REST API, Slack, Teams, decision page) and the
// privileged-span processor. Plain data; every event is JSON-serialisable.

export type ApprovalState = 'pending' | 'approved' | 'denied' | 'expired' | 'cancelled' | 'executed' | 'failed';

/** States after which no decision can change the outcome. */
export const DECIDED_STATES: readonly ApprovalState[] = ['approved', 'denied', 'expired', 'cancelled', 'executed', 'failed'];

/** A verified identity: a human from OIDC/Slack/config, or an API token. */
export interface Identity {
  /** Stable subject: an email for humans where known, `token:<name>` for API tokens. */
  id: string;
  /** Display name. */
  name?: string;
  email?: string;
  groups: string[];
  /** How the identity was verified: `oidc`, `slack`, `token`, `dev`. */
  via: 'oidc' | 'slack' | 'token' | 'dev' | 'teams';
  /** Set for API tokens: their scopes (`ingest`, `request`, `read`, `decide`). */
  scopes?: string[];
  /** True for credentials an agent holds (ingest/request tokens): never allowed to decide. */
  agent?: boolean;
}

/** What the rule that matched says about deciding; snapshotted into the request. */
export interface ApprovalPolicySnapshot {
  policy: string;
  rule: string;
  approvers: { groups: string[]; users: string[] };
  minApprovals: number;
  timeoutMs: number;
  onTimeout: 'deny' | 'approve';
  channels: string[];
}

export interface ApprovalRequest {
  id: string;
  state: ApprovalState;
  createdAt: number;
  expiresAt: number;
  /** SHA-256 hex of the canonical action (name, resource, arguments), computed by the SDK before redaction. */
  actionHash: string;
  action: string;
  resource: string;
  /** The agent's stated reason (redacted). */
  reason: string;
  /** Redacted arguments / context for the approver. */
  context: Record<string, string>;
  /** `enduser.id` of the span. */
  requester: string;
  /** The agent's identity (`service.name` / `gen_ai.agent.name`). */
  agent: string;
  traceId: string;
  spanId: string;
  policy: ApprovalPolicySnapshot;
  approvals: Array<{ by: Identity; at: number; comment: string; channel: string }>;
  denial?: { by: Identity; at: number; comment: string; channel: string };
  /** Where chat messages were posted, to update them on decision. */
  messages: Array<{ channel: string; ref: Record<string, string> }>;
  outcome?: { at: number; status: 'executed' | 'failed'; detail: string };
  /** Set once the approval has been consumed by the action's span. */
  consumedAt?: number;
}

export type ApprovalEventType =
  | 'opened'
  | 'notified'
  | 'approval_recorded'
  | 'approved'
  | 'denied'
  | 'expired'
  | 'cancelled'
  | 'executed'
  | 'failed'
  | 'decision_refused'
  | 'ungated'
  | 'flagged'
  /** An approved request was used by its action (once). */
  | 'consumed';

/** One record of the approval log; `seq`/`prevHash`/`hash` are set by the log on append. */
export interface ApprovalEvent {
  seq: number;
  at: number;
  type: ApprovalEventType;
  approvalId: string;
  /** Who caused it (approver, refused decider, system). */
  actor?: Identity;
  channel?: string;
  comment?: string;
  /** Event-specific data: the request snapshot on `opened`, the reason on `decision_refused`, … */
  data?: Record<string, unknown>;
  prevHash: string;
  hash: string;
}

export type DecisionVerdict = 'approve' | 'deny';

export interface DecisionInput {
  approvalId: string;
  verdict: DecisionVerdict;
  by: Identity;
  comment: string;
  channel: 'api' | 'slack' | 'teams' | 'page';
}

export type DecisionResult =
  | { ok: true; request: ApprovalRequest }
  | { ok: false; status: 403 | 404 | 409; reason: string; request?: ApprovalRequest };

/** What the privileged processor extracts from an intent span to open a request. */
export type OpenInput = { approvalId: string } & Pick<
  ApprovalRequest,
  'actionHash' | 'action' | 'resource' | 'reason' | 'context' | 'requester' | 'agent' | 'traceId' | 'spanId' | 'policy'
>;

/** `applied`: the record changed the request's state (false only for a record that lost a race on a shared log). */
export type ApprovalEventListener = (event: ApprovalEvent, request: ApprovalRequest | undefined, info: { applied: boolean }) => void;

export interface ApprovalEngine {
  /** Idempotent on approvalId: a retried or replayed intent span opens nothing twice. */
  open(input: OpenInput): Promise<{ request: ApprovalRequest; created: boolean }>;
  /**
   * Consumes an approved request for exactly this action, once, inside its
   * validity window. Refused (409) for another action hash, a second use, or a
   * request that is not approved.
   */
  consume(id: string, actionHash: string, by?: Identity): Promise<DecisionResult>;
  /** Records `executed`/`failed` from the action's own span. */
  recordOutcome(id: string, outcome: { actionHash: string; status: 'executed' | 'failed'; detail: string }): Promise<void>;
  /** A privileged span with no approval id, or a `flag` rule match. */
  recordViolation(type: 'ungated' | 'flagged', data: Record<string, unknown>): Promise<void>;
  /** Records where a channel posted the request (Slack channel + ts), to update it later. */
  recordNotified(id: string, channel: string, ref: Record<string, string>): Promise<void>;
  cancel(id: string, by: Identity, comment: string): Promise<DecisionResult>;
  get(id: string): ApprovalRequest | undefined;
  list(filter?: { state?: ApprovalState; limit?: number }): ApprovalRequest[];
  /** Applies a decision after the eligibility rules; refused attempts are logged as `decision_refused`. */
  decide(input: DecisionInput): Promise<DecisionResult>;
  /** Resolves when the request leaves `pending` or after `timeoutMs` with its current state. */
  waitForDecision(id: string, timeoutMs: number): Promise<ApprovalRequest | undefined>;
  /**
   * Events after they are durable in the log. By default only those that took
   * effect: on a shared log a decision can lose a race to another replica's
   * (its record is stored but changes nothing), and channels must not announce
   * it. `all: true` (the audit copy) also gets those, with `applied: false`.
   */
  onEvent(listener: ApprovalEventListener, opts?: { all?: boolean }): () => void;
}

/**
 * Span attributes shared by the SDK (which writes them) and the privileged
 * processor (which reads them). Changing one is a wire-protocol change.
 */
export const ApprovalAttr = {
  id: 'sluice.approval.id',
  /** `request` on the intent span, `execute` on the action's own span. */
  phase: 'sluice.approval.phase',
  action: 'sluice.action.name',
  resource: 'sluice.action.resource',
  reason: 'sluice.action.reason',
  /** SHA-256 hex of the canonical action, computed by the SDK before redaction. */
  hash: 'sluice.action.hash',
  /** JSON of the action's arguments (redacted by the pipeline before anyone sees it). */
  args: 'sluice.action.arguments',
  requester: 'enduser.id',
  agent: 'gen_ai.agent.name',
} as const;
