// Posts an Adaptive Card to Teams (Workflows webhooks) when a request opens,
// and a follow-up card when it is decided or expires. Workflows webhooks
// cannot edit a posted message, so the outcome is a new card in the same
// channel. One ordered queue per webhook, bounded; failed posts are retried
// with exponential backoff and jitter a bounded number of times; what is
// given up is counted. Webhook URLs carry a signature and are never logged:
// logs name the webhook only.
import type { Logger } from 'pino';
import type { SelfMetrics } from '../../../pipeline/telemetry/metrics.js';
import type { ApprovalEngine, ApprovalEventType, ApprovalRequest } from '../../types.js';
import { outcomeCard, requestCard, type TeamsMessage } from './cards.js';
import type { TeamsConfig } from './config.js';
import { deliverWithRetry, postJson } from '../http-delivery.js';

const OUTCOME_ON: ReadonlySet<ApprovalEventType> = new Set(['approved', 'denied', 'expired', 'cancelled']);
export const DEFAULT_WEBHOOK = 'default';

export interface TeamsNotifier {
  /** Resolves when every queued card has been posted or given up. */
  idle(): Promise<void>;
  stop(): void;
}

/**
 * Which webhooks a request goes to: `teams` names the default webhook,
 * `teams:<name>` a named one; a policy that names no channels at all goes to
 * the default webhook.
 */
export function teamsTargets(r: ApprovalRequest, config: Pick<TeamsConfig, 'webhook_url' | 'webhooks'>): string[] {
  const named = r.policy.channels.filter((c) => c === 'teams' || c.startsWith('teams:'));
  const out = new Set<string>();
  if (named.length === 0) {
    if (r.policy.channels.length === 0 && config.webhook_url) out.add(DEFAULT_WEBHOOK);
    return [...out];
  }
  for (const c of named) {
    const name = c === 'teams' ? DEFAULT_WEBHOOK : c.slice('teams:'.length);
    if (name === DEFAULT_WEBHOOK ? config.webhook_url : config.webhooks[name]) out.add(name);
  }
  return [...out];
}

interface Item {
  target: string;
  url: string;
  kind: 'request' | 'outcome';
  approvalId: string;
  body: string;
}

export function startTeamsNotifier(opts: {
  engine: ApprovalEngine;
  config: TeamsConfig;
  /** Base URL of the decision pages: `config.page_url`, else approvals.pages.public_url. */
  pageUrl: string;
  logger: Logger;
  metrics?: SelfMetrics;
  /** Called after a card was accepted by the webhook (tests and benches observe this). */
  onPosted?: (approvalId: string, kind: 'request' | 'outcome', target: string) => void;
}): TeamsNotifier {
  const { engine, config } = opts;
  const logger = opts.logger.child({ channel: 'teams' });
  const urlOf = (target: string) => (target === DEFAULT_WEBHOOK ? config.webhook_url : config.webhooks[target]);
  const queues = new Map<string, { items: Item[]; running?: Promise<void> }>();
  let stopped = false;

  const drop = (item: Item, reason: string) => {
    opts.metrics?.dropped.inc({ component: `teams/${item.target}`, signal: 'approvals', reason });
    logger.warn({ webhook: item.target, approvalId: item.approvalId, kind: item.kind, reason }, 'teams: card given up');
  };

  const deliver = async (item: Item) => {
    const outcome = await deliverWithRetry(() => postJson(item.url, item.body, { 'user-agent': 'sluice-teams/1' }, config.timeout_ms), {
      maxAttempts: config.max_attempts,
      initialBackoffMs: config.initial_backoff_ms,
      maxBackoffMs: config.max_backoff_ms,
      stopped: () => stopped,
      logger,
      describe: { webhook: item.target, approvalId: item.approvalId },
    });
    if (outcome !== 'ok') return drop(item, outcome);
    if (item.kind === 'request') await engine.recordNotified(item.approvalId, 'teams', { webhook: item.target }).catch((err: unknown) => logger.warn({ err: (err as Error).message }, 'teams: cannot record the post'));
    opts.onPosted?.(item.approvalId, item.kind, item.target);
  };

  const offer = (r: ApprovalRequest, kind: Item['kind'], message: TeamsMessage) => {
    if (stopped) return;
    const body = JSON.stringify(message);
    for (const target of teamsTargets(r, config)) {
      const url = urlOf(target);
      if (!url) continue;
      let q = queues.get(target);
      if (!q) queues.set(target, (q = { items: [] }));
      const item: Item = { target, url, kind, approvalId: r.id, body };
      if (q.items.length >= config.queue_size) {
        drop(item, 'queue_full');
        continue;
      }
      q.items.push(item);
      const queue = q;
      queue.running ??= (async () => {
        while (queue.items.length > 0) await deliver(queue.items.shift()!);
        queue.running = undefined;
      })();
    }
  };

  const unsubscribe = engine.onEvent((event, request) => {
    if (!request) return;
    if (event.type === 'opened') offer(request, 'request', requestCard(request, opts.pageUrl, config.card_version));
    else if (OUTCOME_ON.has(event.type)) offer(request, 'outcome', outcomeCard(request, opts.pageUrl, config.card_version));
  });

  // After a restart: requests opened but never posted (crash between the log append and the post).
  for (const r of engine.list({ state: 'pending', limit: 10_000 })) {
    if (!r.messages.some((m) => m.channel === 'teams')) offer(r, 'request', requestCard(r, opts.pageUrl, config.card_version));
  }

  return {
    async idle() {
      for (;;) {
        const running = [...queues.values()].map((q) => q.running).filter((p): p is Promise<void> => p !== undefined);
        if (running.length === 0) return;
        await Promise.all(running);
      }
    },
    stop() {
      stopped = true;
      unsubscribe();
    },
  };
}
