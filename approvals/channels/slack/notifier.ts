// Posts each new request to Slack and keeps the message current: a partial
// approval refreshes it, a decision replaces the buttons with the outcome.
// Messages are updated by channel + ts (kept in the approval log via
// recordNotified), never through response_url, which expires after 30 minutes.
import type { KnownBlock, WebClient } from '@slack/web-api';
import type { Logger } from 'pino';
import type { ApprovalEngine, ApprovalEvent, ApprovalEventType, ApprovalRequest } from '../../types.js';
import { outcomeMessage, requestMessage } from './blocks.js';
import type { SlackConfig } from './config.js';

const REFRESH_ON: ReadonlySet<ApprovalEventType> = new Set(['approval_recorded', 'approved', 'denied', 'expired', 'cancelled', 'executed', 'failed']);

export interface SlackNotifier {
  /** Resolves when every Slack call queued so far has finished. */
  idle(): Promise<void>;
  stop(): void;
}

/**
 * Where a request is posted. Policy channels name Slack as `slack` (the
 * configured default channel) or `slack/<channel>` (also `slack:<channel>`);
 * a policy that names no channels at all goes to the default channel.
 */
export function slackTargets(r: ApprovalRequest, defaultChannel: string | undefined): string[] {
  const named = r.policy.channels.filter((c) => c === 'slack' || c.startsWith('slack:') || c.startsWith('slack/'));
  if (named.length === 0) return r.policy.channels.length === 0 && defaultChannel ? [defaultChannel] : [];
  const out = new Set<string>();
  for (const c of named) {
    const ch = c === 'slack' ? defaultChannel : c.slice('slack'.length + 1);
    if (ch) out.add(ch);
  }
  return [...out];
}

/**
 * Blocks as the JSON text the Web API sends anyway: WebClient would otherwise
 * walk the whole object on every call (a debug-log copy with token redaction,
 * built whatever the log level) before stringifying it itself.
 */
function blocksArg(blocks: unknown): KnownBlock[] {
  return JSON.stringify(blocks) as unknown as KnownBlock[];
}

/**
 * Refreshing a message after a decision is cosmetic; the long-polls that the
 * same commit woke are what an agent waits on. Let their replies go out first.
 */
function afterPendingIo(): Promise<void> {
  return new Promise((resolve) => setImmediate(resolve));
}

export function startSlackNotifier(opts: {
  engine: ApprovalEngine;
  client: WebClient;
  config: Pick<SlackConfig, 'channel'>;
  logger: Logger;
  /** Called when chat.postMessage for a request returned (the bench measures this). */
  onPosted?: (id: string) => void;
}): SlackNotifier {
  const { engine, client, config, logger } = opts;
  // Per-request chains keep post → update in order for one request while
  // requests proceed in parallel.
  const chains = new Map<string, Promise<void>>();
  const posted = new Map<string, Array<{ channel: string; ts: string }>>();

  const enqueue = (id: string, work: () => Promise<void>) => {
    const prev = chains.get(id) ?? Promise.resolve();
    const next = prev.then(work).catch((err: unknown) => {
      logger.warn({ approvalId: id, err: (err as Error).message }, 'slack: call failed');
    });
    chains.set(id, next);
    void next.then(() => {
      if (chains.get(id) === next) chains.delete(id);
    });
  };

  const refsOf = (r: ApprovalRequest) =>
    posted.get(r.id) ??
    r.messages.filter((m) => m.channel === 'slack' && m.ref.channel && m.ref.ts).map((m) => ({ channel: m.ref.channel, ts: m.ref.ts }));

  const update = async (id: string) => {
    const r = engine.get(id);
    if (!r) return;
    const msg = outcomeMessage(r);
    const blocks = blocksArg(msg.blocks);
    for (const ref of refsOf(r)) await client.chat.update({ channel: ref.channel, ts: ref.ts, text: msg.text, blocks });
  };

  const post = async (r: ApprovalRequest) => {
    const msg = requestMessage(r);
    const blocks = blocksArg(msg.blocks);
    for (const channel of slackTargets(r, config.channel)) {
      const res = await client.chat.postMessage({ channel, text: msg.text, blocks, unfurl_links: false, unfurl_media: false });
      if (!res.channel || !res.ts) throw new Error('chat.postMessage answered without channel/ts');
      opts.onPosted?.(r.id);
      posted.set(r.id, [...(posted.get(r.id) ?? []), { channel: res.channel, ts: res.ts }]);
      await engine.recordNotified(r.id, 'slack', { channel: res.channel, ts: res.ts });
    }
    // Decided while we were posting: show the outcome now.
    const now = engine.get(r.id);
    if (now && now.state !== 'pending') await update(r.id);
  };

  const unsubscribe = engine.onEvent((event: ApprovalEvent, request: ApprovalRequest | undefined) => {
    if (!request) return;
    if (event.type === 'opened') enqueue(request.id, () => post(request));
    else if (REFRESH_ON.has(event.type)) enqueue(request.id, () => afterPendingIo().then(() => update(request.id)));
    if (event.type !== 'opened' && event.type !== 'approval_recorded' && event.type !== 'notified' && request.state !== 'pending') {
      // Terminal: forget local refs once the update has run.
      enqueue(request.id, async () => void posted.delete(request.id));
    }
  });

  // After a restart: requests that opened but were never posted (crash
  // between the log append and chat.postMessage) are posted now.
  for (const r of engine.list({ state: 'pending', limit: 10_000 })) {
    if (!r.messages.some((m) => m.channel === 'slack')) enqueue(r.id, () => post(r));
  }

  return {
    async idle() {
      while (chains.size > 0) await Promise.all([...chains.values()]);
    },
    stop: unsubscribe,
  };
}
