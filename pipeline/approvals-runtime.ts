// Wires the approvals subsystem for one process: the policy in force, the
// hash-chained log, the engine that rebuilds from it, the copy of every event
// in ClickHouse, the Sluice API server (REST + Slack interactions) and the
// notification channels. Pipeline assembly (service.ts) calls this once.
import { existsSync } from 'node:fs';
import { isAbsolute, join, resolve } from 'node:path';
import Fastify, { type FastifyInstance } from 'fastify';
import type { Logger } from 'pino';
import type { ApprovalsConfig } from '../approvals/config.js';
import { createApprovalEngine } from '../approvals/engine/engine.js';
import { openJournal } from '../approvals/log/journal.js';
import { openKafkaApprovalLog } from '../approvals/log/kafka.js';
import type { ApprovalLog } from '../approvals/log/types.js';
import { PolicyHolder } from '../approvals/policy/holder.js';
import { createAuthenticator } from '../approvals/auth/authenticate.js';
import { registerApprovalsApi } from '../approvals/api/routes.js';
import { registerApprovalPages } from '../approvals/pages/routes.js';
import { createRedactor } from '../processors/redaction/redactor.js';
import { startApprovalChannels } from '../approvals/channels/index.js';
import { ApprovalEventStore } from '../approvals/store/clickhouse.js';
import { openClickHouse } from '../exporters/clickhouse/store.js';
import type { ClickHouseExporterConfig } from '../exporters/clickhouse/config.js';
import type { ApprovalEngine } from '../approvals/types.js';
import { listenError } from './listen.js';
import type { SluiceConfig } from '../config/load.js';
import { packagePath } from '../config/paths.js';
import { tlsServerOptions } from '../config/tls.js';
import type { HostPort } from '../config/units.js';
import type { SelfMetrics } from './telemetry/metrics.js';

export interface ApprovalsRuntime {
  engine: ApprovalEngine;
  policy: PolicyHolder;
  app: FastifyInstance;
  listen(endpoint: HostPort): Promise<void>;
  port(): number | undefined;
  reload(): Promise<void>;
  close(): Promise<void>;
}

/** A relative path is taken from the working directory, else from the package (shipped examples). */
export function resolveShippedPath(p: string): string {
  if (isAbsolute(p)) return p;
  const fromCwd = resolve(p);
  return existsSync(fromCwd) ? fromCwd : packagePath(p);
}

/**
 * The ClickHouse exporter whose store receives approval events: one the
 * running pipelines use, else any configured (an edge that writes telemetry to
 * Kafka still keeps its approval trail in ClickHouse).
 */
function clickhouseExporterConfig(config: SluiceConfig, inUse: Iterable<string> = []): ClickHouseExporterConfig | undefined {
  const candidates = [...config.exporters.values()].filter((c) => c.factory.type === 'clickhouse');
  const used = new Set(inUse);
  return (candidates.find((c) => used.has(c.id)) ?? candidates[0])?.config as ClickHouseExporterConfig | undefined;
}

export async function startApprovals(
  config: SluiceConfig,
  deps: { logger: Logger; metrics: SelfMetrics; dataDir: string; log?: ApprovalLog; exporterIds?: Iterable<string> },
): Promise<ApprovalsRuntime> {
  const ac = config.approvals as ApprovalsConfig;
  const logger = deps.logger.child({ component: 'approvals' });
  const policy = new PolicyHolder({ file: resolveShippedPath(ac.policy_file), logger, watch: ac.watch_policy });
  const closers: Array<() => Promise<void> | void> = [() => policy.close()];
  try {
    const log =
      deps.log ??
      (ac.log.type === 'kafka'
        ? await openKafkaApprovalLog({ config: ac.log, logger })
        : await openJournal({ dir: ac.log.dir ? resolve(ac.log.dir) : join(deps.dataDir, 'approvals'), logger, maxBatch: ac.log.max_batch }));
    closers.unshift(() => log.close());
    const engine = await createApprovalEngine({ log, logger, metrics: deps.metrics, consumeWindowMs: ac.consume_window, policy });
    closers.unshift(() => (engine as { close?: () => Promise<void> | void }).close?.());

    const apiTls = config.service.api.tls;
    const app = (apiTls ? Fastify({ logger: false, bodyLimit: 1024 * 1024, https: tlsServerOptions(apiTls) }) : Fastify({ logger: false, bodyLimit: 1024 * 1024 })) as unknown as FastifyInstance;
    app.get('/healthz', async () => ({ status: 'ok' }));
    await registerApprovalsApi(app, { engine, auth: createAuthenticator(ac.auth), logger });

    if (ac.pages?.enabled) {
      // The console's redaction preview uses the pipeline's own rules.
      const redaction = [...config.processors.values()].find((c) => c.factory.type === 'redaction')?.config;
      const pages = await registerApprovalPages(app, {
        engine,
        config: ac.pages,
        logger,
        listenHost: config.service.api.endpoint.host,
        redactor: redaction ? createRedactor(redaction as never) : undefined,
        history: log.readAll(),
      });
      closers.unshift(() => pages.stop());
    }

    const channels = await startApprovalChannels({ engine, config: ac.channels, logger, metrics: deps.metrics, app, pageUrl: ac.pages?.public_url });
    closers.unshift(() => channels.stop());

    // Every event also goes to ClickHouse beside the telemetry, through the
    // same store (and worker) as the first ClickHouse exporter in use. The
    // journal is the source of truth; this copy may lag and catches up.
    const ch = ac.store.enabled ? clickhouseExporterConfig(config, deps.exporterIds) : undefined;
    if (ch) {
      const handle = openClickHouse({ endpoint: ch.endpoint, username: ch.username, password: ch.password, timeoutMs: ch.timeout, compression: ch.compression });
      const store = new ApprovalEventStore({
        clickhouse: handle,
        engine,
        log,
        logger,
        database: ac.store.database ?? ch.database,
        batchSize: ac.store.batch_size,
        flushIntervalMs: ac.store.flush_interval,
        maxRetryIntervalMs: ac.store.max_retry_interval,
        shared: ac.log.type === 'kafka',
      });
      store.start();
      closers.unshift(async () => {
        await store.stop();
        await handle.close();
      });
    }

    let listening = false;
    const port = (): number | undefined => {
      if (!listening) return undefined;
      const addr = app.server.address();
      return addr && typeof addr === 'object' ? addr.port : undefined;
    };
    return {
      engine,
      policy,
      app,
      async listen(endpoint) {
        await app.listen({ host: endpoint.host, port: endpoint.port }).catch((err: unknown) => {
          throw listenError(err, 'the Sluice API (approvals, Slack interactions)', endpoint, 'set service.api.endpoint to another host:port');
        });
        listening = true;
        logger.info({ port: port() }, 'sluice api listening');
      },
      port,
      reload: () => policy.reload(),
      async close() {
        await app.close();
        for (const c of closers) await c();
      },
    };
  } catch (err) {
    for (const c of closers) await c();
    throw err;
  }
}
