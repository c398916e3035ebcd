// Sends every approval event to each configured webhook as signed JSON.
// One ordered queue per webhook (receivers see events in log order), bounded;
// failed deliveries are retried with exponential backoff and jitter, a bounded
// number of times; whatever is given up is counted, never silently lost.
import type { Logger } from 'pino';
import type { SelfMetrics } from '../../../pipeline/telemetry/metrics.js';
import { requestView } from '../../api/views.js';
import type { ApprovalEngine, ApprovalEvent, ApprovalRequest } from '../../types.js';
import type { WebhookConfig } from './config.js';
import { SIGNATURE_HEADER, TIMESTAMP_HEADER, webhookSignature } from './sign.js';
import { deliverWithRetry, postJson } from '../http-delivery.js';

export interface WebhookNotifier {
  /** Resolves when every queue is empty and nothing is in flight. */
  idle(): Promise<void>;
  stop(): void;
}

interface Item {
  body: string;
  type: string;
  delivery: string;
}

export function startWebhookNotifier(opts: {
  engine: ApprovalEngine;
  webhooks: readonly WebhookConfig[];
  logger: Logger;
  metrics?: SelfMetrics;
}): WebhookNotifier {
  const senders = opts.webhooks.map((w) => createSender(w, opts.logger.child({ webhook: w.name }), opts.metrics));
  // Every event, as documented; one that lost a race says so (`applied: false`).
  const unsubscribe = opts.engine.onEvent(
    (event, request, info) => {
      for (const s of senders) s.offer(event, request, info.applied);
    },
    { all: true },
  );
  return {
    async idle() {
      await Promise.all(senders.map((s) => s.idle()));
    },
    stop() {
      unsubscribe();
      for (const s of senders) s.stop();
    },
  };
}

function createSender(w: WebhookConfig, logger: Logger, metrics: SelfMetrics | undefined) {
  const queue: Item[] = [];
  let running: Promise<void> | undefined;
  let stopped = false;
  const wanted = new Set<string>(w.events);
  const drop = (reason: string, type: string) => {
    metrics?.dropped.inc({ component: `webhook/${w.name}`, signal: 'approvals', reason });
    logger.warn({ reason, type }, 'webhook: event given up');
  };

  const deliver = async (item: Item) => {
    const outcome = await deliverWithRetry(
      () => {
        const ts = String(Math.floor(Date.now() / 1000));
        return postJson(
          w.url,
          item.body,
          {
            'user-agent': 'sluice-webhook/1',
            [SIGNATURE_HEADER]: webhookSignature(w.secret, ts, item.body),
            [TIMESTAMP_HEADER]: ts,
            'x-sluice-event': item.type,
            'x-sluice-delivery': item.delivery,
          },
          w.timeout_ms,
        );
      },
      { maxAttempts: w.max_attempts, initialBackoffMs: w.initial_backoff_ms, maxBackoffMs: w.max_backoff_ms, stopped: () => stopped, logger, describe: { type: item.type } },
    );
    if (outcome !== 'ok') drop(outcome, item.type);
  };

  const pump = async () => {
    while (queue.length > 0) await deliver(queue.shift()!);
    running = undefined;
  };

  return {
    offer(event: ApprovalEvent, request: ApprovalRequest | undefined, applied = true) {
      if (stopped || (wanted.size > 0 && !wanted.has(event.type))) return;
      if (request && !w.all_requests && !request.policy.channels.some((c) => c === 'webhook' || c === `webhook/${w.name}`)) return;
      if (queue.length >= w.queue_size) return drop('queue_full', event.type);
      const body = JSON.stringify({ event, applied, request: request ? requestView(request) : undefined });
      queue.push({ body, type: event.type, delivery: event.hash || `${event.approvalId}:${event.seq}` });
      running ??= pump();
    },
    async idle() {
      while (running) await running;
    },
    stop() {
      stopped = true;
    },
  };
}
