// Assembles the approvals core from the `approvals` config section: policy
// holder, journal, engine, and (given a ClickHouse handle) the event store.
// The service calls this once per process and owns the result's lifetime.
import { join, resolve } from 'node:path';
import type { Logger } from 'pino';
import type { SelfMetrics } from '../../pipeline/telemetry/metrics.js';
import type { ApprovalsConfig } from '../config.js';
import { openJournal } from '../log/journal.js';
import type { ApprovalLog } from '../log/types.js';
import { PolicyHolder } from '../policy/holder.js';
import { ApprovalEventStore, type ClickHouseHandle } from '../store/clickhouse.js';
import { createApprovalEngine, type LocalApprovalEngine } from './engine.js';

export interface ApprovalsCore {
  engine: LocalApprovalEngine;
  policy: PolicyHolder;
  log: ApprovalLog;
  store?: ApprovalEventStore;
  /** Re-reads the policy file (wire to SIGHUP); keeps the old policy if the new one is invalid. */
  reload(): Promise<void>;
  /** Stops timers and the store, then closes the log. */
  close(): Promise<void>;
}

export interface ApprovalsCoreDeps {
  dataDir: string;
  logger: Logger;
  metrics?: SelfMetrics;
  /** When given (and approvals.store.enabled), every event is copied to ClickHouse. */
  clickhouse?: ClickHouseHandle;
  now?: () => number;
}

export async function startApprovalsCore(cfg: ApprovalsConfig, deps: ApprovalsCoreDeps): Promise<ApprovalsCore> {
  const logger = deps.logger.child({ component: 'approvals' });
  const policy = new PolicyHolder({ file: cfg.policy_file, logger, watch: cfg.watch_policy });
  let log: ApprovalLog | undefined;
  try {
    log = await openJournal({ dir: resolve(cfg.log.dir ?? join(deps.dataDir, 'approvals')), logger, maxBatch: cfg.log.max_batch });
    const engine = await createApprovalEngine({ log, logger, metrics: deps.metrics, now: deps.now, consumeWindowMs: cfg.consume_window, policy });
    let store: ApprovalEventStore | undefined;
    if (deps.clickhouse && cfg.store.enabled) {
      store = new ApprovalEventStore({
        clickhouse: deps.clickhouse,
        engine,
        log,
        logger,
        database: cfg.store.database,
        batchSize: cfg.store.batch_size,
        flushIntervalMs: cfg.store.flush_interval,
        maxRetryIntervalMs: cfg.store.max_retry_interval,
      });
      store.start();
    }
    const opened = log;
    return {
      engine,
      policy,
      log: opened,
      store,
      reload: () => policy.reload(),
      async close() {
        policy.close();
        await engine.close();
        await store?.stop();
        await opened.close();
      },
    };
  } catch (err) {
    policy.close();
    await log?.close();
    throw err;
  }
}
