// withApproval: spend an approval on the action it was granted for. The
// approval is consumed (once, for this action hash) before fn runs, and fn
// runs inside the action's span, linked to the intent span, whose status is
// the outcome Sluice records (executed / failed).
import { SpanKind, SpanStatusCode, type Span } from '@opentelemetry/api';
import { ApprovalAttr } from '../approvals/types.js';
import { ApprovalDeniedError } from './errors.js';
import { approvalClients, flushProvider, type Approval } from './require-approval.js';

export async function withApproval<T>(approval: Approval, fn: (span: Span) => Promise<T> | T): Promise<T> {
  const ctx = approvalClients.get(approval);
  if (!ctx || approval.state !== 'approved') throw new ApprovalDeniedError('error', 'withApproval needs an approval returned by requireApproval', approval?.id);
  const { client, tracer, provider } = ctx;

  let answer;
  try {
    answer = await client.call<{ message?: string }>('POST', `/v1/approvals/${encodeURIComponent(approval.id)}/consume`, {
      body: { actionHash: approval.actionHash },
      timeoutMs: 10_000,
    });
  } catch (err) {
    throw new ApprovalDeniedError('unreachable', `could not consume the approval: Sluice API unreachable (${(err as Error).message})`, approval.id);
  }
  if (answer.status !== 200) {
    throw new ApprovalDeniedError(
      answer.status === 409 ? 'consume_refused' : 'http_error',
      `Sluice refused to use this approval (HTTP ${answer.status})${answer.body?.message ? `: ${answer.body.message}` : ''}`,
      approval.id,
    );
  }

  return tracer.startActiveSpan(
    `sluice.approval.execute ${approval.action}`,
    {
      kind: SpanKind.INTERNAL,
      links: [{ context: approval.intent }],
      attributes: {
        ...approval.attributes,
        [ApprovalAttr.id]: approval.id,
        [ApprovalAttr.phase]: 'execute',
        [ApprovalAttr.action]: approval.action,
        [ApprovalAttr.resource]: approval.resource,
        [ApprovalAttr.hash]: approval.actionHash,
      },
    },
    async (span) => {
      try {
        const result = await fn(span);
        span.setStatus({ code: SpanStatusCode.OK });
        return result;
      } catch (err) {
        span.recordException(err instanceof Error ? err : String(err));
        span.setStatus({ code: SpanStatusCode.ERROR, message: err instanceof Error ? err.message : String(err) });
        throw err;
      } finally {
        span.end();
        // Best effort: the outcome is recorded when this span reaches Sluice.
        await flushProvider(provider).catch(() => undefined);
      }
    },
  );
}
