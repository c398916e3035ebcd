// The pages' bodies, rendered from ApprovalRequests and events. Everything
// shown was redacted by the pipeline before the request opened; every value
// still goes through `html` escaping, since agent text is attacker-controlled.
import { checkEligibility } from '../engine/eligibility.js';
import type { ApprovalEvent, ApprovalRequest, Identity } from '../types.js';
import { Html, html, timeLeft, when } from './html.js';
import type { EventFilter, RecentEvent } from './recent-events.js';

export interface Notice {
  kind: 'info' | 'warn' | 'err';
  text: string;
}

const who = (i: { id: string; name?: string } | undefined) => (!i ? '' : i.name && i.name !== i.id ? `${i.name} (${i.id})` : i.id);

export const stateBadge = (state: string) => html`<span class="badge s-${state}" data-state="${state}">${state}</span>`;

function notices(list: readonly Notice[]): Html {
  return html`${list.map((n) => html`<div class="notice ${n.kind === 'info' ? '' : n.kind}" role="status">${n.text}</div>`)}`;
}

export function approvalsSummary(r: ApprovalRequest): string {
  return `${r.approvals.length} of ${r.policy.minApprovals}`;
}

export function inboxBody(opts: { pending: ApprovalRequest[]; recent: ApprovalRequest[]; me: Identity; now: number; notices?: Notice[] }): Html {
  const row = (r: ApprovalRequest) => {
    const mine = r.state === 'pending' ? checkEligibility(r, opts.me) : undefined;
    const done = r.approvals.some((a) => a.by.id.toLowerCase() === opts.me.id.toLowerCase());
    return html`<tr data-id="${r.id}">
<td><a href="/approvals/${encodeURIComponent(r.id)}"><code>${r.action}</code></a><div class="muted"><code>${r.resource || '-'}</code></div></td>
<td class="opt">${r.agent || 'unknown'}</td>
<td class="opt">${r.requester || 'unknown'}</td>
<td>${stateBadge(r.state)} ${r.state === 'pending' ? html`<div class="muted">${timeLeft(r.expiresAt, opts.now)}</div>` : ''}</td>
<td>${approvalsSummary(r)}${mine ? html`<div class="muted">${done ? 'you approved' : mine.ok ? 'you can decide' : 'not yours to decide'}</div>` : ''}</td>
</tr>`;
  };
  const table = (rows: ApprovalRequest[], empty: string, id: string) =>
    rows.length === 0
      ? html`<p class="muted" id="${id}-empty">${empty}</p>`
      : html`<div class="table-wrap"><table id="${id}"><thead><tr><th>Action / resource</th><th class="opt">Agent</th><th class="opt">Requested by</th><th>State</th><th>Approvals</th></tr></thead><tbody>${rows.map(row)}</tbody></table></div>`;
  return html`${notices(opts.notices ?? [])}<h1>Approval inbox</h1>
<h2>Waiting for a decision (${opts.pending.length})</h2>${table(opts.pending, 'Nothing is waiting for a decision.', 'pending')}
<h2>Recently decided</h2>${table(opts.recent, 'No decisions yet.', 'recent')}`;
}

export interface DecisionPageInput {
  request: ApprovalRequest;
  me: Identity;
  csrf: string;
  now: number;
  trail: ApprovalEvent[];
  /** From a Teams/Slack button: which button to put first; the click still has to be made here. */
  preferred?: 'approve' | 'deny';
  notices?: Notice[];
}

export function decisionBody(p: DecisionPageInput): Html {
  const r = p.request;
  const eligibility = checkEligibility(r, p.me);
  const alreadyApproved = r.approvals.some((a) => a.by.id.toLowerCase() === p.me.id.toLowerCase());
  const args = Object.entries(r.context);
  const approvers = [
    ...r.policy.approvers.groups.map((g) => `group ${g}`),
    ...r.policy.approvers.users.map((u) => `user ${u}`),
  ].join(', ');

  let decide: Html;
  if (r.state !== 'pending') decide = html`<div class="notice" id="decided">This request is <strong>${r.state}</strong>; nothing is left to decide.</div>`;
  else if (alreadyApproved) decide = html`<div class="notice" id="already">You approved this request. It needs ${r.policy.minApprovals - r.approvals.length} more approval(s) from other approvers.</div>`;
  else if (!eligibility.ok) decide = html`<div class="notice warn" id="not-eligible">You cannot decide this request: ${eligibility.reason}.</div>`;
  else {
    const approve = html`<button class="approve${p.preferred === 'approve' ? ' preferred' : ''}" type="submit" name="verdict" value="approve" id="approve">Approve</button>`;
    const deny = html`<button class="deny${p.preferred === 'deny' ? ' preferred' : ''}" type="submit" name="verdict" value="deny" id="deny">Deny</button>`;
    decide = html`<form class="card decide" method="post" action="/approvals/${encodeURIComponent(r.id)}/decision" id="decide-form">
<input type="hidden" name="_csrf" value="${p.csrf}">
<label for="comment"><strong>Comment</strong> <span class="muted">(recorded in the audit log; a deny should say why)</span></label>
<textarea id="comment" name="comment" maxlength="2000"></textarea>
<div class="buttons">${p.preferred === 'deny' ? [deny, approve] : [approve, deny]}</div>
</form>`;
  }

  return html`${notices(p.notices ?? [])}
<h1><code>${r.action}</code> on <code>${r.resource || '-'}</code> ${stateBadge(r.state)}</h1>
<section class="card"><dl class="kv">
<dt>Agent</dt><dd id="f-agent">${r.agent || 'unknown'}</dd>
<dt>Requested by</dt><dd id="f-requester">${r.requester || 'unknown'} <span class="muted">(enduser.id)</span></dd>
<dt>Action</dt><dd><code>${r.action}</code></dd>
<dt>Resource</dt><dd><code>${r.resource || '-'}</code></dd>
<dt>Reason</dt><dd id="f-reason">${r.reason || '(no reason given)'}</dd>
<dt>Policy</dt><dd>${r.policy.policy} / ${r.policy.rule}</dd>
<dt>Who may decide</dt><dd>${approvers || 'nobody listed'}; ${r.policy.minApprovals} approval(s) needed</dd>
<dt>Approved by</dt><dd id="f-approvals">${r.approvals.length ? r.approvals.map((a, i) => html`${i ? ', ' : ''}${who(a.by)}`) : 'nobody yet'} (${approvalsSummary(r)})</dd>
${r.denial ? html`<dt>Denied by</dt><dd>${who(r.denial.by)}${r.denial.comment ? html` — “${r.denial.comment}”` : ''}</dd>` : ''}
<dt>Time left</dt><dd id="f-time">${r.state === 'pending' ? timeLeft(r.expiresAt, p.now) : '—'} <span class="muted">(expires ${when(r.expiresAt)}; on timeout: ${r.policy.onTimeout})</span></dd>
<dt>Opened</dt><dd>${when(r.createdAt)}</dd>
<dt>Request</dt><dd><code>${r.id}</code></dd>
<dt>Trace</dt><dd><code>${r.traceId}</code></dd>
</dl></section>
<h2>Arguments <span class="muted">(redacted)</span></h2>
${args.length ? html`<pre id="f-args">${args.map(([k, v]) => `${k}: ${v}\n`).join('')}</pre>` : html`<p class="muted">No arguments.</p>`}
<h2>Decision</h2>
${decide}
<h2>Audit trail</h2>
<ol class="trail" id="trail">${trailItems(r, p.trail)}</ol>`;
}

function trailItems(r: ApprovalRequest, events: ApprovalEvent[]): Html {
  if (events.length === 0) {
    // Events older than this process's memory: what the request itself records.
    const items: Html[] = [html`<li>${when(r.createdAt)} — opened by ${r.agent || 'an agent'} for ${r.requester || 'unknown'}</li>`];
    for (const a of r.approvals) items.push(html`<li>${when(a.at)} — approved by ${who(a.by)} via ${a.channel}${a.comment ? html`: “${a.comment}”` : ''}</li>`);
    if (r.denial) items.push(html`<li>${when(r.denial.at)} — denied by ${who(r.denial.by)} via ${r.denial.channel}${r.denial.comment ? html`: “${r.denial.comment}”` : ''}</li>`);
    if (r.outcome) items.push(html`<li>${when(r.outcome.at)} — ${r.outcome.status}</li>`);
    return html`${items}`;
  }
  return html`${[...events].sort((a, b) => a.seq - b.seq).map((e) => html`<li data-type="${e.type}">${when(e.at)} — <strong>${e.type.replace(/_/g, ' ')}</strong>${e.actor ? html` by ${who(e.actor)}` : ''}${e.channel ? html` via ${e.channel}` : ''}${eventDetail(e)}</li>`)}`;
}

function eventDetail(e: ApprovalEvent): Html | string {
  const data = (e.data ?? {}) as Record<string, unknown>;
  const reason = typeof data.reason === 'string' ? data.reason : '';
  const parts = [e.comment ? `“${e.comment}”` : '', reason].filter(Boolean).join(' — ');
  return parts ? html`: ${parts}` : '';
}

export const CONSOLE_STATES = ['pending', 'approved', 'denied', 'expired', 'cancelled', 'executed', 'failed', 'decision_refused', 'ungated', 'flagged'] as const;

export interface PreviewResult {
  input: string;
  text: string;
  findings: Array<{ start: number; end: number; type: string; rule: string }>;
}

export function consoleBody(p: {
  filter: EventFilter;
  events: RecentEvent[];
  ungated: RecentEvent[];
  csrf: string;
  previewAvailable: boolean;
  preview?: PreviewResult;
  previewMax: number;
  notices?: Notice[];
}): Html {
  const f = p.filter;
  const opt = (v: string, cur: string | undefined) => html`<option value="${v}"${v === (cur ?? '') ? new Html(' selected') : ''}>${v || 'any'}</option>`;
  const s = (v: unknown) => (typeof v === 'string' ? v : '');
  const evRow = (x: RecentEvent) => {
    const e = x.event;
    const data = (e.data ?? {}) as Record<string, unknown>;
    const link = e.approvalId ? html`<a href="/approvals/${encodeURIComponent(e.approvalId)}"><code>${e.approvalId.slice(0, 12)}</code></a>` : '';
    return html`<tr data-type="${e.type}"><td>${when(e.at)}</td><td>${e.type.replace(/_/g, ' ')}</td><td>${link}</td><td class="opt">${x.policy}${x.rule ? ` / ${x.rule}` : ''}</td><td class="opt">${x.agent}</td><td>${who(e.actor)}${e.channel ? html` <span class="muted">via ${e.channel}</span>` : ''}</td><td class="opt">${[e.comment, s(data.reason)].filter(Boolean).join(' — ')}</td></tr>`;
  };
  const ungRow = (x: RecentEvent) => {
    const d = (x.event.data ?? {}) as Record<string, unknown>;
    return html`<tr data-type="${x.event.type}"><td>${when(x.event.at)}</td><td>${x.event.type}</td><td><code>${s(d.action) || s(d.spanName)}</code><div class="muted"><code>${s(d.resource)}</code></div></td><td class="opt">${s(d.agent)}</td><td class="opt">${s(d.requester)}</td><td>${s(d.rule)}<div class="muted">${s(d.reason)}</div></td><td class="opt"><code>${s(d.traceId)}</code></td></tr>`;
  };

  return html`${notices(p.notices ?? [])}<h1>Console</h1>
<p class="muted">Read-only. Recent approval events held in memory by this Sluice; the full history is in the approval journal and ClickHouse (<code>sluice_approval_events</code>).</p>
<h2>Approval events</h2>
<form class="filters" method="get" action="/approvals/console" id="filters">
<label>State / event<select name="state">${opt('', f.state)}${CONSOLE_STATES.map((v) => opt(v, f.state))}</select></label>
<label>Policy or rule<input name="policy" value="${f.policy ?? ''}" size="14"></label>
<label>Agent<input name="agent" value="${f.agent ?? ''}" size="14"></label>
<label>Approver<input name="approver" value="${f.approver ?? ''}" size="14"></label>
<button class="btn" type="submit">Filter</button></form>
${p.events.length ? html`<div class="table-wrap"><table id="events"><thead><tr><th>Time</th><th>Event</th><th>Request</th><th class="opt">Policy</th><th class="opt">Agent</th><th>By</th><th class="opt">Detail</th></tr></thead><tbody>${p.events.map(evRow)}</tbody></table></div>` : html`<p class="muted" id="events-empty">No events match.</p>`}
<h2>Ungated privileged actions</h2>
<p class="muted">Spans a policy says need approval (or asked for one no rule grants) that carried no approval: they ran, or tried to, without a human decision.</p>
${p.ungated.length ? html`<div class="table-wrap"><table id="ungated"><thead><tr><th>Time</th><th>Kind</th><th>Action</th><th class="opt">Agent</th><th class="opt">Requested by</th><th>Rule</th><th class="opt">Trace</th></tr></thead><tbody>${p.ungated.map(ungRow)}</tbody></table></div>` : html`<p class="muted" id="ungated-empty">None recorded.</p>`}
<h2>Redaction preview</h2>
${
  p.previewAvailable
    ? html`<p class="muted">Paste text to see what the configured rules would scrub, and which rule would. The text is not stored or logged.</p>
<form class="card" method="post" action="/approvals/console/preview" id="preview-form"><input type="hidden" name="_csrf" value="${p.csrf}">
<textarea name="text" id="preview-text" maxlength="${p.previewMax}" style="width:100%;min-height:6rem;font:inherit">${p.preview?.input ?? ''}</textarea>
<div class="buttons"><button class="btn" type="submit" id="preview-submit" style="flex:0 0 auto">Preview</button></div></form>
${p.preview ? previewResult(p.preview) : ''}`
    : html`<p class="muted">No redaction processor is configured.</p>`
}`;
}

function previewResult(p: PreviewResult): Html {
  const rows = p.findings.map(
    (f) => html`<tr><td>${f.type}</td><td><code>${f.rule}</code></td><td>${f.start}–${f.end}</td><td><mark>${p.input.slice(f.start, f.end)}</mark></td></tr>`,
  );
  return html`<div class="card" id="preview-result"><h2 style="margin-top:0">What would be stored</h2><pre id="preview-output">${p.text}</pre>
<h2>Findings (${p.findings.length})</h2>
${p.findings.length ? html`<div class="table-wrap"><table id="findings"><thead><tr><th>Type</th><th>Rule</th><th>Characters</th><th>Matched</th></tr></thead><tbody>${rows}</tbody></table></div>` : html`<p class="muted">Nothing would be redacted.</p>`}</div>`;
}

export function signInBody(p: { oidc: boolean; dev: boolean; devUsers: ReadonlyArray<{ id: string; name?: string; groups: string[] }>; returnTo: string; flowToken: string; error?: string }): Html {
  return html`<h1>Sign in</h1>
${p.error ? html`<div class="notice err" role="alert" id="signin-error">${p.error}</div>` : ''}
${p.oidc ? html`<p><a class="btn" id="sso" href="/approvals/auth/login?return_to=${encodeURIComponent(p.returnTo)}&amp;sso=1">Sign in with single sign-on</a></p>` : ''}
${
  p.dev
    ? html`<form class="card" method="post" action="/approvals/auth/dev-login" id="dev-login">
<p><strong>Development users</strong> (from <code>approvals.pages.dev_users</code>)</p>
<input type="hidden" name="_flow" value="${p.flowToken}"><input type="hidden" name="return_to" value="${p.returnTo}">
<p><label>User<br><input name="login" id="login" autocomplete="username" required></label></p>
<p><label>Password<br><input name="password" id="password" type="password" autocomplete="current-password" required></label></p>
<div class="buttons"><button class="btn" type="submit" id="dev-submit" style="flex:0 0 auto">Sign in</button></div>
<p class="muted">Users: ${p.devUsers.map((u, i) => html`${i ? ', ' : ''}<code>${u.id}</code>${u.groups.length ? ` (${u.groups.join(', ')})` : ''}`)}</p></form>`
    : ''
}`;
}
