// Detects privileged actions in (already redacted) spans and drives the
// approvals engine: an intent span opens its request, an action span records
// its outcome, and a privileged span with no approval is an `ungated`
// violation. Each open/record is awaited (it is one durable append, batched
// with the others of this batch) before the batch moves on; channel
// notifications are the engine listeners' business and are not awaited here.
import type { Consumer, ComponentContext, Processor } from '../../pipeline/component.js';
import type { AnyValue, Batch, KeyValue, Span } from '../../pipeline/model.js';
import { anyValueToString, StatusCode } from '../../pipeline/model.js';
import { actionName, attributeView, type AttrLookup, type PolicyMatch } from '../../approvals/policy/compile.js';
import { PolicyHolder, type PolicySource } from '../../approvals/policy/holder.js';
import type { ApprovalEngine } from '../../approvals/types.js';
import { ApprovalAttr } from '../../approvals/types.js';
import type { PrivilegedConfig } from './config.js';

export const PrivilegedAttr = {
  rule: 'sluice.privileged.rule',
  effect: 'sluice.privileged.effect',
  state: 'sluice.approval.state',
} as const;

/** Attributes that steer the approval itself; not shown to approvers as context. */
const CONTROL_KEYS = new Set<string>([ApprovalAttr.id, ApprovalAttr.phase, ApprovalAttr.hash]);

export function createPrivilegedProcessor(config: PrivilegedConfig, next: Consumer, ctx: ComponentContext): Processor {
  const engine = ctx.approvals;
  if (!engine) {
    throw new Error(`processors.${ctx.id}: the privileged processor needs the approvals engine; add an \`approvals:\` section with policy_file to the config`);
  }
  let holder: PolicyHolder | undefined;
  let policy: PolicySource;
  if (config.policy_file) {
    holder = new PolicyHolder({ file: config.policy_file, logger: ctx.logger, watch: config.watch_policy });
    policy = holder;
  } else {
    const fromEngine = (engine as ApprovalEngine & { policy?: PolicySource }).policy;
    if (!fromEngine) throw new Error(`processors.${ctx.id}: no policy; set approvals.policy_file, or policy_file on this processor`);
    policy = fromEngine;
  }

  return {
    async consume(batch: Batch): Promise<void> {
      if (batch.signal === 'traces') await inspect(batch, policy, engine, config);
      await next.consume(batch);
    },
    async shutdown(): Promise<void> {
      holder?.close();
    },
  };
}

async function inspect(batch: Extract<Batch, { signal: 'traces' }>, source: PolicySource, engine: ApprovalEngine, config: PrivilegedConfig): Promise<void> {
  // One policy per batch: a reload mid-batch must not split it across two policies.
  const policy = source.current();
  const ops: Array<Promise<unknown>> = [];
  for (const rs of batch.resourceSpans) {
    const res = attributeView(rs.resource.attributes);
    for (const ss of rs.scopeSpans) {
      for (const span of ss.spans) {
        const attrs = attributeView(span.attributes);
        const match = policy.evaluate(span, attrs, res);
        const id = text(attrs(ApprovalAttr.id));
        if (!match && !id) continue;
        const op = handle(span, attrs, res, match, id, engine, config);
        if (op) ops.push(op);
      }
    }
  }
  if (ops.length) await Promise.all(ops);
}

function handle(span: Span, attrs: AttrLookup, res: AttrLookup, match: PolicyMatch | undefined, id: string, engine: ApprovalEngine, config: PrivilegedConfig): Promise<unknown> | undefined {
  const phase = text(attrs(ApprovalAttr.phase)) || 'request';
  const annotate = (state: string) => {
    if (!config.annotate) return;
    if (match) {
      setAttr(span.attributes, PrivilegedAttr.rule, match.rule);
      setAttr(span.attributes, PrivilegedAttr.effect, match.effect);
    }
    if (state) setAttr(span.attributes, PrivilegedAttr.state, state);
  };
  const violation = (type: 'ungated' | 'flagged', extra: Record<string, unknown>) => {
    annotate(type);
    return engine.recordViolation(type, { ...describe(span, attrs, res, match, config), ...extra });
  };

  if (id && phase === 'execute') {
    // The action's own span: its outcome, whatever the policy says today.
    annotate('');
    const failed = span.status.code === StatusCode.ERROR;
    return engine.recordOutcome(id, { actionHash: text(attrs(ApprovalAttr.hash)), status: failed ? 'failed' : 'executed', detail: failed ? span.status.message : '' });
  }
  if (id) {
    if (match?.effect === 'require_approval' && match.snapshot) {
      return engine
        .open({
          approvalId: id,
          actionHash: text(attrs(ApprovalAttr.hash)),
          action: actionName(span, attrs),
          resource: text(attrs(ApprovalAttr.resource)),
          reason: text(attrs(ApprovalAttr.reason)),
          context: contextOf(span.attributes, config),
          requester: text(attrs(ApprovalAttr.requester)),
          agent: agentOf(attrs, res),
          traceId: span.traceId,
          spanId: span.spanId,
          policy: match.snapshot,
        })
        .then(({ request }) => annotate(request.state));
    }
    // Asked for approval, but no require_approval rule covers it: nothing can approve, so the SDK times out (fail closed). Say so.
    return violation('flagged', {
      approvalId: id,
      reason: match ? `approval requested, but rule "${match.rule}" has effect ${match.effect}, which opens no request` : 'approval requested, but no policy rule matches this action',
    });
  }
  if (!match) return undefined;
  switch (match.effect) {
    case 'require_approval':
      return violation('ungated', { reason: `rule "${match.rule}" requires approval, but the span carries no ${ApprovalAttr.id}` });
    case 'deny':
      return violation('flagged', { reason: `rule "${match.rule}" denies this action, yet it ran` });
    case 'flag':
      return violation('flagged', { reason: `rule "${match.rule}" flags this action` });
    case 'allow':
      return undefined;
  }
}

function describe(span: Span, attrs: AttrLookup, res: AttrLookup, match: PolicyMatch | undefined, config: PrivilegedConfig): Record<string, unknown> {
  return {
    policy: match?.snapshot?.policy ?? '',
    rule: match?.rule ?? '',
    effect: match?.effect ?? '',
    action: actionName(span, attrs),
    resource: text(attrs(ApprovalAttr.resource)),
    requester: text(attrs(ApprovalAttr.requester)),
    agent: agentOf(attrs, res),
    spanName: span.name,
    traceId: span.traceId,
    spanId: span.spanId,
    context: contextOf(span.attributes, config),
  };
}

function agentOf(attrs: AttrLookup, res: AttrLookup): string {
  return text(attrs(ApprovalAttr.agent)) || text(res(ApprovalAttr.agent)) || text(res('service.name'));
}

function text(v: AnyValue | undefined): string {
  return v === undefined || v === null ? '' : typeof v === 'string' ? v : anyValueToString(v);
}

function contextOf(kvs: KeyValue[], config: PrivilegedConfig): Record<string, string> {
  // A Map, then fromEntries: attribute keys such as `__proto__` stay plain keys.
  const out = new Map<string, string>();
  for (const kv of kvs) {
    if (out.size >= config.context_max_attributes) break;
    if (CONTROL_KEYS.has(kv.key) || out.has(kv.key)) continue;
    const v = text(kv.value);
    out.set(kv.key, v.length > config.context_max_value_length ? v.slice(0, config.context_max_value_length - 1) + '…' : v);
  }
  return Object.fromEntries(out);
}

function setAttr(kvs: KeyValue[], key: string, value: string): void {
  for (const kv of kvs) {
    if (kv.key === key) {
      kv.value = value;
      return;
    }
  }
  kvs.push({ key, value });
}
