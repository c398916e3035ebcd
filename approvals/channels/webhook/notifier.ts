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

const RETRYABLE = (status: number) => status === 408 || status === 425 || status === 429 || status >= 500;

export function startWebhookNotifier(opts: {
  engine: ApprovalEngine;
  webhooks: readonly WebhookConfig[];
  logger: Logger;
  metrics?: SelfMetrics;
}): WebhookNotifier {
  const senders = opts.webhooks.map((w) => createSender(w, opts.logger.child({ webhook: w.name }), opts.metrics));
  const unsubscribe = opts.engine.onEvent((event, request) => {
    for (const s of senders) s.offer(event, request);
  });
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

  const deliverOnce = async (item: Item): Promise<{ ok: boolean; retry: boolean; detail: string }> => {
    const ts = String(Math.floor(Date.now() / 1000));
    try {
      const res = await fetch(w.url, {
        method: 'POST',
        headers: {
          'content-type': 'application/json',
          'user-agent': 'sluice-webhook/1',
          [SIGNATURE_HEADER]: webhookSignature(w.secret, ts, item.body),
          [TIMESTAMP_HEADER]: ts,
          'x-sluice-event': item.type,
          'x-sluice-delivery': item.delivery,
        },
        body: item.body,
        signal: AbortSignal.timeout(w.timeout_ms),
      });
      await res.body?.cancel().catch(() => undefined);
      if (res.ok) return { ok: true, retry: false, detail: String(res.status) };
      return { ok: false, retry: RETRYABLE(res.status), detail: `HTTP ${res.status}` };
    } catch (err) {
      return { ok: false, retry: true, detail: (err as Error).name };
    }
  };

  const deliver = async (item: Item) => {
    for (let attempt = 1; ; attempt++) {
      const r = await deliverOnce(item);
      if (r.ok) return;
      if (!r.retry) return drop('rejected', item.type);
      if (attempt >= w.max_attempts || stopped) return drop('retries_exhausted', item.type);
      const base = Math.min(w.max_backoff_ms, w.initial_backoff_ms * 2 ** (attempt - 1));
      const delay = base / 2 + Math.random() * (base / 2);
      logger.debug({ attempt, detail: r.detail, delayMs: Math.round(delay) }, 'webhook: delivery failed, retrying');
      await new Promise((resolve) => setTimeout(resolve, delay));
    }
  };

  const pump = async () => {
    while (queue.length > 0) await deliver(queue.shift()!);
    running = undefined;
  };

  return {
    offer(event: ApprovalEvent, request: ApprovalRequest | undefined) {
      if (stopped || (wanted.size > 0 && !wanted.has(event.type))) return;
      if (request && !w.all_requests && !request.policy.channels.some((c) => c === 'webhook' || c === `webhook/${w.name}`)) return;
      if (queue.length >= w.queue_size) return drop('queue_full', event.type);
      const body = JSON.stringify({ event, request: request ? requestView(request) : undefined });
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
