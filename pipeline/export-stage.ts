// The last stage of a pipeline: hands each batch to every exporter and
// retries each one with exponential backoff until it succeeds. Retrying
// forever is deliberate (rows are never lost while the process lives): while
// an exporter is failing, the batch processor's bounded queue fills and the
// receivers push back on clients instead.
import type { Logger } from 'pino';
import { QueueFullError, type Consumer, type Exporter } from './component.js';
import { countItems, type Batch } from './model.js';
import type { SelfMetrics } from './telemetry/metrics.js';

export interface RetryPolicy {
  initialMs: number;
  maxMs: number;
  /**
   * false for a pipeline with no batch processor: the receiver is waiting
   * (e.g. an edge answering OTLP only once Kafka acknowledged), so a failure
   * goes straight back to it as backpressure instead of being retried here.
   */
  retry?: boolean;
}

export const DEFAULT_RETRY: RetryPolicy = { initialMs: 250, maxMs: 30_000 };

export interface ExportStage extends Consumer {
  /** Stops retrying: pending sends give up and reject, and the queue keeps or counts their items. */
  abort(): void;
}

export function createExportStage(
  exporters: Array<{ id: string; exporter: Exporter }>,
  deps: { logger: Logger; metrics: SelfMetrics; retry?: RetryPolicy },
): ExportStage {
  const retry = deps.retry ?? DEFAULT_RETRY;
  const controller = new AbortController();

  const sleep = (ms: number) =>
    new Promise<void>((resolve) => {
      const t = setTimeout(resolve, ms);
      controller.signal.addEventListener('abort', () => (clearTimeout(t), resolve()), { once: true });
    });

  async function sendWithRetry(id: string, exporter: Exporter, batch: Batch, items: number): Promise<void> {
    const labels = { exporter: id, signal: batch.signal };
    const stop = deps.metrics.exportLatency.startTimer(labels);
    let delay = retry.initialMs;
    for (let attempt = 1; ; attempt++) {
      try {
        await exporter.export(batch);
        deps.metrics.exporterSent.inc(labels, items);
        stop();
        return;
      } catch (err) {
        deps.metrics.exporterFailedAttempts.inc(labels, items);
        if (retry.retry === false) {
          stop();
          throw new QueueFullError(`exporter ${id} could not write the batch; retry later`, 1);
        }
        if (controller.signal.aborted) {
          // Not sent: the queue decides what that means (a disk queue keeps
          // the records for the next start; a memory queue counts them dropped).
          stop();
          throw new Error(`export to ${id} abandoned at shutdown`);
        }
        deps.logger.warn({ exporter: id, items, attempt, retryInMs: delay, err: (err as Error).message }, 'export failed; will retry');
        await sleep(delay * (0.8 + Math.random() * 0.4));
        delay = Math.min(delay * 2, retry.maxMs);
      }
    }
  }

  return {
    async consume(batch: Batch) {
      const items = countItems(batch);
      await Promise.all(exporters.map(({ id, exporter }) => sendWithRetry(id, exporter, batch, items)));
    },
    abort() {
      controller.abort();
    },
  };
}
