// Adaptive Cards for an approval request and its outcome, in the message
// envelope Teams Workflows webhooks take. Built only from the ApprovalRequest,
// whose context, reason and arguments were redacted before it opened.
// Agent-supplied text goes into RichTextBlock TextRuns, which Teams renders as
// plain text: a reason cannot smuggle in a markdown link.
import type { ApprovalRequest, Identity } from '../../types.js';

export type CardVersion = '1.2' | '1.3' | '1.4' | '1.5';
type Element = Record<string, unknown>;

export interface AdaptiveCard {
  $schema: string;
  type: 'AdaptiveCard';
  version: CardVersion;
  body: Element[];
  actions?: Element[];
}

export interface TeamsMessage {
  type: 'message';
  attachments: Array<{ contentType: 'application/vnd.microsoft.card.adaptive'; contentUrl: null; content: AdaptiveCard }>;
}

export const CARD_SCHEMA = 'http://adaptivecards.io/schemas/adaptive-card.json';

function clip(s: string, max: number): string {
  return s.length <= max ? s : `${s.slice(0, max - 1)}…`;
}

const who = (i: Identity) => (i.name && i.name !== i.id ? `${i.name} (${i.id})` : i.id);
const utc = (ms: number) => new Date(ms).toISOString().replace('T', ' ').replace(/\.\d+Z$/, ' UTC');

/** The decision page of a request; `verdict` only says which button to show first there. */
export function decisionUrl(pageUrl: string, id: string, verdict?: 'approve' | 'deny'): string {
  return `${pageUrl.replace(/\/+$/, '')}/approvals/${encodeURIComponent(id)}${verdict ? `?verdict=${verdict}` : ''}`;
}

function line(label: string, value: string, monospace = false): Element {
  return {
    type: 'RichTextBlock',
    inlines: [
      { type: 'TextRun', text: `${label}: `, weight: 'Bolder' },
      { type: 'TextRun', text: clip(value || '-', 1000), ...(monospace ? { fontType: 'Monospace' } : {}) },
    ],
  };
}

function plain(text: string, extra: Record<string, unknown> = {}): Element {
  return { type: 'RichTextBlock', inlines: [{ type: 'TextRun', text, ...extra }] };
}

function summary(r: ApprovalRequest): Element[] {
  const args = Object.entries(r.context)
    .map(([k, v]) => `${k}: ${v}`)
    .join('\n');
  const body: Element[] = [
    line('Agent', r.agent || 'unknown'),
    line('Requested by', r.requester || 'unknown'),
    line('Action', r.action, true),
    line('Resource', r.resource || '-', true),
    line('Policy', `${r.policy.policy} / ${r.policy.rule}`),
    line('Approvals', `${r.approvals.length} of ${r.policy.minApprovals}${r.approvals.length ? ` (${r.approvals.map((a) => who(a.by)).join(', ')})` : ''}`),
    line('Expires', utc(r.expiresAt)),
    line('Why', r.reason || '(no reason given)'),
  ];
  if (args) {
    body.push(plain('Arguments (redacted)', { weight: 'Bolder' }));
    body.push({ type: 'RichTextBlock', inlines: [{ type: 'TextRun', text: clip(args, 3000), fontType: 'Monospace' }] });
  }
  body.push(plain(`Request ${r.id}`, { isSubtle: true, size: 'Small' }));
  return body;
}

// `style: heading` (1.5) lets screen readers announce the title as a heading.
const heading = (v: CardVersion) => (v === '1.5' ? { style: 'heading' } : {});

function envelope(card: AdaptiveCard): TeamsMessage {
  return { type: 'message', attachments: [{ contentType: 'application/vnd.microsoft.card.adaptive', contentUrl: null, content: card }] };
}

/** Posted when a request opens: the context, and buttons that open its decision page. */
export function requestCard(r: ApprovalRequest, pageUrl: string, version: CardVersion = '1.5'): TeamsMessage {
  return envelope({
    $schema: CARD_SCHEMA,
    type: 'AdaptiveCard',
    version,
    body: [{ type: 'TextBlock', text: clip(`Approval needed: ${r.action}`, 200), size: 'Large', weight: 'Bolder', wrap: true, ...heading(version) }, ...summary(r)],
    actions: [
      { type: 'Action.OpenUrl', title: 'Approve', url: decisionUrl(pageUrl, r.id, 'approve'), style: 'positive' },
      { type: 'Action.OpenUrl', title: 'Deny', url: decisionUrl(pageUrl, r.id, 'deny'), style: 'destructive' },
    ],
  });
}

export function outcomeText(r: ApprovalRequest): string {
  switch (r.state) {
    case 'approved':
    case 'executed':
    case 'failed': {
      const by = r.approvals.map((a) => `${who(a.by)} at ${utc(a.at)}`).join(', ');
      return `Approved by ${by || 'policy (on timeout)'}${r.state === 'executed' ? '; executed' : r.state === 'failed' ? '; the action failed' : ''}`;
    }
    case 'denied':
      return r.denial ? `Denied by ${who(r.denial.by)} at ${utc(r.denial.at)}${r.denial.comment ? `: “${clip(r.denial.comment, 1500)}”` : ''}` : 'Denied';
    case 'expired':
      return `Expired at ${utc(r.expiresAt)} with no decision (${r.policy.onTimeout === 'deny' ? 'denied' : 'approved'} by policy)`;
    case 'cancelled':
      return 'Cancelled by the agent';
    case 'pending':
      return `Waiting: ${r.approvals.length} of ${r.policy.minApprovals} approvals`;
  }
}

/** The follow-up when a request is decided or expires: the outcome and who decided. */
export function outcomeCard(r: ApprovalRequest, pageUrl: string, version: CardVersion = '1.5'): TeamsMessage {
  const good = r.state === 'approved' || r.state === 'executed';
  return envelope({
    $schema: CARD_SCHEMA,
    type: 'AdaptiveCard',
    version,
    body: [
      { type: 'TextBlock', text: clip(`${r.state[0]!.toUpperCase()}${r.state.slice(1)}: ${r.action}`, 200), size: 'Large', weight: 'Bolder', wrap: true, color: good ? 'Good' : r.state === 'pending' ? 'Default' : 'Attention', ...heading(version) },
      plain(outcomeText(r), { weight: 'Bolder' }),
      ...summary(r),
    ],
    actions: [{ type: 'Action.OpenUrl', title: 'View request', url: decisionUrl(pageUrl, r.id) }],
  });
}
