// Block Kit for an approval request and its outcome. Built only from the
// ApprovalRequest, whose context, reason and arguments were redacted by the
// pipeline before the request opened: nothing here can see a raw value.
import type { ApprovalRequest, Identity } from '../../types.js';

export const ACTION_APPROVE = 'sluice_approve';
export const ACTION_DENY = 'sluice_deny';
export const DENY_MODAL = 'sluice_deny_reason';
export const DENY_REASON_BLOCK = 'reason';
export const DENY_REASON_INPUT = 'reason';

type Block = Record<string, unknown>;
export interface SlackMessage {
  text: string;
  blocks: Block[];
}

/** Slack mrkdwn control characters; redaction placeholders like `<EMAIL>` must not become links. */
export function escapeMrkdwn(s: string): string {
  return s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');
}

function clip(s: string, max: number): string {
  return s.length <= max ? s : `${s.slice(0, max - 1)}…`;
}

function when(ms: number): string {
  const iso = new Date(ms).toISOString();
  return `<!date^${Math.floor(ms / 1000)}^{date_short_pretty} {time_secs}|${iso}>`;
}

function who(i: Identity): string {
  return escapeMrkdwn(i.name && i.name !== i.id ? `${i.name} (${i.id})` : i.id);
}

const field = (label: string, value: string) => ({ type: 'mrkdwn', text: clip(`*${label}*\n${value}`, 2000) });

function summaryBlocks(r: ApprovalRequest): Block[] {
  const args = Object.entries(r.context)
    .map(([k, v]) => `${k}: ${v}`)
    .join('\n');
  const blocks: Block[] = [
    { type: 'header', text: { type: 'plain_text', text: clip(`Approval needed: ${r.action}`, 150), emoji: true } },
    {
      type: 'section',
      fields: [
        field('Agent', escapeMrkdwn(r.agent || 'unknown')),
        field('Requested by', escapeMrkdwn(r.requester || 'unknown')),
        field('Action', `\`${escapeMrkdwn(r.action)}\``),
        field('Resource', `\`${escapeMrkdwn(r.resource || '-')}\``),
        field('Policy', escapeMrkdwn(`${r.policy.policy} / ${r.policy.rule}`)),
        field('Expires', when(r.expiresAt)),
      ],
    },
    { type: 'section', text: { type: 'mrkdwn', text: clip(`*Why*\n${escapeMrkdwn(r.reason || '(no reason given)')}`, 3000) } },
  ];
  if (args) blocks.push({ type: 'section', text: { type: 'mrkdwn', text: clip(`*Arguments* (redacted)\n\`\`\`${escapeMrkdwn(args)}\`\`\``, 3000) } });
  return blocks;
}

function approvalsLine(r: ApprovalRequest): string {
  const names = r.approvals.map((a) => who(a.by)).join(', ');
  return `Approvals: ${r.approvals.length} of ${r.policy.minApprovals}${names ? ` (${names})` : ''}`;
}

function footer(r: ApprovalRequest): Block {
  return { type: 'context', elements: [{ type: 'mrkdwn', text: `Request \`${escapeMrkdwn(r.id)}\` · ${approvalsLine(r)}` }] };
}

/** The message posted when a request opens (and refreshed while it is still pending). */
export function requestMessage(r: ApprovalRequest): SlackMessage {
  return {
    text: clip(`Approval needed: ${r.agent} wants to ${r.action} on ${r.resource} (requested by ${r.requester})`, 3000),
    blocks: [
      ...summaryBlocks(r),
      footer(r),
      {
        type: 'actions',
        block_id: 'sluice_decision',
        elements: [
          { type: 'button', action_id: ACTION_APPROVE, style: 'primary', text: { type: 'plain_text', text: 'Approve' }, value: r.id },
          { type: 'button', action_id: ACTION_DENY, style: 'danger', text: { type: 'plain_text', text: 'Deny' }, value: r.id },
        ],
      },
    ],
  };
}

function outcomeLine(r: ApprovalRequest): string {
  switch (r.state) {
    case 'approved':
    case 'executed':
    case 'failed': {
      const by = r.approvals.map((a) => `${who(a.by)} at ${when(a.at)}`).join(', ');
      const base = `:white_check_mark: *Approved* by ${by || 'policy (on timeout)'}`;
      if (r.state === 'executed') return `${base}\n:gear: *Executed* at ${when(r.outcome?.at ?? Date.now())}`;
      if (r.state === 'failed') return `${base}\n:x: *Failed* at ${when(r.outcome?.at ?? Date.now())}`;
      return base;
    }
    case 'denied':
      return r.denial
        ? `:no_entry: *Denied* by ${who(r.denial.by)} at ${when(r.denial.at)}${r.denial.comment ? `\n>${escapeMrkdwn(clip(r.denial.comment, 1500))}` : ''}`
        : ':no_entry: *Denied*';
    case 'expired':
      return `:hourglass: *Expired* at ${when(r.expiresAt)} with no decision (${r.policy.onTimeout === 'deny' ? 'denied' : 'approved'} by policy)`;
    case 'cancelled':
      return ':heavy_multiplication_x: *Cancelled* by the agent';
    case 'pending':
      return `:hourglass_flowing_sand: Waiting · ${approvalsLine(r)}`;
  }
}

/** The message after a decision (or a partial approval, which keeps the buttons). */
export function outcomeMessage(r: ApprovalRequest): SlackMessage {
  if (r.state === 'pending') return requestMessage(r);
  return {
    text: clip(`${r.action} on ${r.resource}: ${r.state}`, 3000),
    blocks: [...summaryBlocks(r), { type: 'section', text: { type: 'mrkdwn', text: clip(outcomeLine(r), 3000) } }, footer(r)],
  };
}

/** The modal a Deny click opens: a deny asks for a reason. */
export function denyModal(r: { id: string; action: string }, meta: { channel?: string; ts?: string }) {
  return {
    type: 'modal',
    callback_id: DENY_MODAL,
    private_metadata: JSON.stringify({ id: r.id, ...meta }),
    title: { type: 'plain_text', text: 'Deny request' },
    submit: { type: 'plain_text', text: 'Deny' },
    close: { type: 'plain_text', text: 'Cancel' },
    blocks: [
      { type: 'section', text: { type: 'mrkdwn', text: clip(`Deny \`${escapeMrkdwn(r.action)}\` (request \`${escapeMrkdwn(r.id)}\`)?`, 3000) } },
      {
        type: 'input',
        block_id: DENY_REASON_BLOCK,
        label: { type: 'plain_text', text: 'Reason' },
        element: { type: 'plain_text_input', action_id: DENY_REASON_INPUT, multiline: true, min_length: 3, max_length: 2000 },
      },
    ],
  };
}
