// requireApproval: ask Sluice for a human decision on one exact action and
// wait for it. Fails closed: anything but an approval for this very action
// hash throws ApprovalDeniedError.
import { randomUUID } from 'node:crypto';
import { SpanKind, trace, type Attributes, type SpanContext, type Tracer, type TracerProvider } from '@opentelemetry/api';
import { ApprovalAttr } from '../approvals/types.js';
import { actionHash, canonicalJson } from './canonical.js';
import { ApiClient, defaultEndpoint, defaultToken } from './client.js';
import { ApprovalDeniedError } from './errors.js';

export interface RequireApprovalOptions {
  /** What the agent wants to do, e.g. `export_table`. Policies match it as `gen_ai.tool.name`. */
  action: string;
  /** What it acts on, e.g. `warehouse.customers`. */
  resource?: string;
  /** The agent's stated reason, shown to approvers (after redaction). */
  reason?: string;
  /** The action's arguments: hashed as they are, sent on the span (where Sluice redacts them). */
  arguments?: unknown;
  /** Extra span attributes, e.g. `enduser.id`, `gen_ai.agent.name`, `deployment.environment`. */
  attributes?: Attributes;
  /** Sluice API base URL. Default: $SLUICE_API_URL or http://127.0.0.1:4380. */
  endpoint?: string;
  /** Bearer token with the `request` scope. Default: $SLUICE_API_TOKEN. */
  token?: string;
  /** Longest wait for a decision. Default 15 minutes. */
  timeoutMs?: number;
  /** How long the request may take to appear in Sluice after the span is sent. Default 15 s. */
  openTimeoutMs?: number;
  /** Length of one long-poll. Default 30 s. */
  pollMs?: number;
  tracer?: Tracer;
  /** Flushed after the intent span ends. Default: the global provider. It must export to Sluice. */
  tracerProvider?: TracerProvider;
  signal?: AbortSignal;
  /** Called with the approval id once the intent span is sent (e.g. to tell a user where to decide). */
  onRequested?: (id: string) => void;
}

export interface Approval {
  id: string;
  state: 'approved';
  action: string;
  resource: string;
  arguments: unknown;
  actionHash: string;
  approvers: Array<{ id: string; name?: string; via: string }>;
  /** The intent span, which withApproval links the action's span to. */
  intent: SpanContext;
  /** Attributes given to requireApproval, repeated on the action's span. */
  attributes: Attributes;
}

interface DecisionBody {
  id: string;
  state: string;
  actionHash: string;
  approvals: Array<{ by: { id: string; name?: string; via: string }; comment?: string }>;
  denial?: { by: { id: string; name?: string }; comment?: string };
}

/** Clients for approvals handed out, for withApproval (kept off the object so a token never prints). */
export const approvalClients = new WeakMap<Approval, { client: ApiClient; tracer: Tracer; provider: TracerProvider }>();

export const SDK_TRACER = 'sluice-sdk';

export async function flushProvider(provider: TracerProvider): Promise<void> {
  const p = provider as TracerProvider & { getDelegate?: () => TracerProvider };
  const real = (typeof p.getDelegate === 'function' ? p.getDelegate() : p) as TracerProvider & { forceFlush?: () => Promise<void> };
  if (typeof real.forceFlush === 'function') await real.forceFlush();
}

const sleep = (ms: number, signal?: AbortSignal) =>
  new Promise<void>((resolve) => {
    const t = setTimeout(resolve, ms);
    signal?.addEventListener('abort', () => (clearTimeout(t), resolve()), { once: true });
  });

export async function requireApproval(opts: RequireApprovalOptions): Promise<Approval> {
  let id: string | undefined;
  try {
    return await run(opts, (x) => (id = x));
  } catch (err) {
    if (err instanceof ApprovalDeniedError) throw err;
    throw new ApprovalDeniedError('error', `approval failed closed: ${(err as Error)?.message ?? String(err)}`, id);
  }
}

async function run(opts: RequireApprovalOptions, setId: (id: string) => void): Promise<Approval> {
  if (!opts.action) throw new ApprovalDeniedError('error', 'requireApproval: `action` is required');
  const provider = opts.tracerProvider ?? trace.getTracerProvider();
  const tracer = opts.tracer ?? provider.getTracer(SDK_TRACER);
  const client = new ApiClient({ endpoint: opts.endpoint ?? defaultEndpoint(), token: opts.token ?? defaultToken() });
  const resource = opts.resource ?? '';
  const hash = actionHash({ action: opts.action, resource, arguments: opts.arguments });
  const id = randomUUID();
  setId(id);
  const started = Date.now();
  const deadline = started + (opts.timeoutMs ?? 15 * 60_000);
  const openDeadline = started + (opts.openTimeoutMs ?? 15_000);
  const pollMs = opts.pollMs ?? 30_000;
  const attributes: Attributes = { 'gen_ai.tool.name': opts.action, ...opts.attributes };

  const span = tracer.startSpan(`sluice.approval.request ${opts.action}`, {
    kind: SpanKind.INTERNAL,
    attributes: {
      ...attributes,
      [ApprovalAttr.id]: id,
      [ApprovalAttr.phase]: 'request',
      [ApprovalAttr.action]: opts.action,
      [ApprovalAttr.resource]: resource,
      [ApprovalAttr.reason]: opts.reason ?? '',
      [ApprovalAttr.hash]: hash,
      [ApprovalAttr.args]: canonicalJson(opts.arguments ?? {}),
    },
  });
  const intent = span.spanContext();
  span.end();
  try {
    await flushProvider(provider);
  } catch (err) {
    throw new ApprovalDeniedError('unreachable', `could not send the approval request span to Sluice: ${(err as Error).message}`, id);
  }
  opts.onRequested?.(id);

  let networkFailures = 0;
  let notFoundDelay = 25;
  for (;;) {
    if (opts.signal?.aborted) throw await giveUp(client, id, 'cancelled', 'aborted by the caller');
    const remaining = deadline - Date.now();
    if (remaining <= 0) throw await giveUp(client, id, 'timeout', `no decision within ${Math.round((deadline - started) / 1000)}s`);
    const wait = Math.max(1, Math.min(pollMs, remaining));
    let answer;
    try {
      answer = await client.call<DecisionBody & { message?: string }>('GET', `/v1/approvals/${encodeURIComponent(id)}/decision?wait=${wait}ms`, {
        timeoutMs: wait + 10_000,
        signal: opts.signal,
      });
      networkFailures = 0;
    } catch (err) {
      if (opts.signal?.aborted) continue;
      if (++networkFailures > 3) throw new ApprovalDeniedError('unreachable', `Sluice API at ${client.endpoint} is unreachable (${(err as Error).message})`, id);
      await sleep(Math.min(50 * 2 ** networkFailures, Math.max(0, deadline - Date.now())), opts.signal);
      continue;
    }
    if (answer.status === 404) {
      // The intent span may still be on its way through the pipeline.
      if (Date.now() > openDeadline)
        throw new ApprovalDeniedError('not_opened', 'Sluice never opened the request: check that this process exports its spans to Sluice and that a policy rule matches the action', id);
      await sleep(Math.min(notFoundDelay, Math.max(0, openDeadline - Date.now())), opts.signal);
      notFoundDelay = Math.min(notFoundDelay * 2, 500);
      continue;
    }
    if (answer.status !== 200 || !answer.body) {
      throw new ApprovalDeniedError('http_error', `Sluice API answered HTTP ${answer.status}${answer.body?.message ? `: ${answer.body.message}` : ''}`, id);
    }
    const d = answer.body;
    switch (d.state) {
      case 'pending':
        continue;
      case 'approved':
        if (d.actionHash !== hash) throw new ApprovalDeniedError('error', 'the approval is for a different action (hash mismatch)', id);
        {
          const approval: Approval = {
            id,
            state: 'approved',
            action: opts.action,
            resource,
            arguments: opts.arguments,
            actionHash: hash,
            approvers: d.approvals.map((a) => a.by),
            intent,
            attributes: { ...attributes },
          };
          approvalClients.set(approval, { client, tracer, provider });
          return approval;
        }
      case 'denied':
        throw new ApprovalDeniedError(
          'denied',
          `denied by ${d.denial?.by.name ?? d.denial?.by.id ?? 'an approver'}${d.denial?.comment ? `: ${d.denial.comment}` : ''}`,
          id,
          d.denial ? { id: d.denial.by.id, name: d.denial.by.name, comment: d.denial.comment } : undefined,
        );
      case 'expired':
        throw new ApprovalDeniedError('expired', 'the request expired without a decision', id);
      case 'cancelled':
        throw new ApprovalDeniedError('cancelled', 'the request was cancelled', id);
      default:
        throw new ApprovalDeniedError('consume_refused', `the request is already ${d.state}`, id);
    }
  }
}

/** Withdraws a request we stop waiting for, so a late approval cannot be used by anyone (best effort). */
async function giveUp(client: ApiClient, id: string, reason: 'timeout' | 'cancelled', message: string): Promise<ApprovalDeniedError> {
  try {
    await client.call('POST', `/v1/approvals/${encodeURIComponent(id)}/cancel`, { body: { comment: `agent stopped waiting: ${reason}` }, timeoutMs: 2000 });
  } catch {
    // The request expires on its own.
  }
  return new ApprovalDeniedError(reason, message, id);
}
