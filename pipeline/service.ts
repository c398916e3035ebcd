// Pipeline assembly and lifecycle: the only place that knows the graph.
// For each pipeline: receivers → processors (redaction, privileged, …) →
// batch (the bounded queue) → export stage (every exporter, with retries).
// Start order is exporters, processors, then receivers, so nothing is
// accepted before it can be written; stop order is the reverse, draining
// queues within service.shutdown_timeout.
import { mkdir } from 'node:fs/promises';
import { resolve } from 'node:path';
import type { Logger } from 'pino';
import type { ApprovalEngine } from '../approvals/types.js';
import { componentType, type SluiceConfig } from '../config/load.js';
import type { BatchProcessor } from '../processors/batch/batch.js';
import type { ComponentContext, Consumer, Exporter, Processor, Receiver } from './component.js';
import { createExportStage, DEFAULT_RETRY } from './export-stage.js';
import type { Signal } from './model.js';
import { startAdminServer } from './telemetry/admin.js';
import { createLogger } from './telemetry/logger.js';
import { SelfMetrics } from './telemetry/metrics.js';
import { startApprovals, type ApprovalsRuntime } from './approvals-runtime.js';

export interface StartOptions {
  logger?: Logger;
  metrics?: SelfMetrics;
  /**
   * Which pipelines run: `all` (default) runs every pipeline; any other role
   * runs the pipelines named after it (`traces/edge`, `logs/edge` for `edge`).
   */
  role?: string;
}

export function selectPipelines(config: SluiceConfig, role = 'all'): SluiceConfig['pipelines'] {
  if (role === 'all') return config.pipelines;
  const selected = config.pipelines.filter((p) => p.name === role);
  if (!selected.length) {
    const names = [...new Set(config.pipelines.map((p) => p.name).filter(Boolean))];
    throw new Error(`role "${role}" has no pipelines: name them e.g. traces/${role} under service.pipelines (named roles in this config: ${names.join(', ') || 'none'})`);
  }
  return selected;
}

export interface RunningService {
  ports: { http?: number; grpc?: number; admin: number; query?: number; api?: number };
  engine?: ApprovalEngine;
  logger: Logger;
  metrics: SelfMetrics;
  config: SluiceConfig;
  /** Ready when every receiver is listening and every exporter can write. */
  ready(): boolean;
  /** Waits until every queue is empty (everything accepted so far is written). */
  flush(): Promise<void>;
  /** Graceful stop: stop accepting, drain, flush exporters, close. */
  stop(): Promise<void>;
  /** SIGHUP: re-read the approval policy (pending requests keep their snapshot). */
  reload(): Promise<void>;
}

interface Started {
  id: string;
  component: Receiver | Processor | Exporter;
}

export async function startService(config: SluiceConfig, opts: StartOptions = {}): Promise<RunningService> {
  const logger = opts.logger ?? createLogger({ level: config.service.telemetry.logs.level });
  const metrics = opts.metrics ?? new SelfMetrics();
  const dataDir = resolve(config.service.data_dir);
  await mkdir(dataDir, { recursive: true });

  const pipelines = selectPipelines(config, opts.role);
  const started: Started[] = [];
  const cleanups: Array<() => Promise<void>> = [];
  let approvals: ApprovalsRuntime | undefined;

  const ctx = (id: string): ComponentContext => ({ id, logger: logger.child({ component: id }), metrics, dataDir, approvals: approvals?.engine });

  async function stopAll(): Promise<void> {
    for (const c of cleanups.splice(0).reverse()) await c().catch((err: Error) => logger.error({ err: err.message }, 'shutdown step failed'));
  }

  try {
    if (config.approvals !== undefined) {
      approvals = await startApprovals(config, { logger, metrics, dataDir, exporterIds: pipelines.flatMap((p) => p.exporters) });
      cleanups.push(() => approvals!.close());
    }

    // Exporters are shared by every pipeline that names them.
    const exporters = new Map<string, Exporter>();
    const exporterIds = new Set(pipelines.flatMap((p) => p.exporters));
    for (const id of exporterIds) {
      const c = config.exporters.get(id)!;
      const exporter = c.factory.create(c.config, ctx(id));
      await exporter.start?.();
      exporters.set(id, exporter);
      started.push({ id, component: exporter });
      cleanups.push(async () => exporter.shutdown?.());
    }

    const heads = new Map<string, Consumer>();
    const queues: BatchProcessor[] = [];
    for (const p of pipelines) {
      // The batch processor is the queue. A pipeline without one is
      // synchronous: the receiver's client is answered only once every
      // exporter has written (an edge in front of Kafka), and a failure is
      // backpressure to that client rather than a retry here.
      const queued = p.processors.some((id) => componentType(id) === 'batch');
      const stage = createExportStage(
        p.exporters.map((id) => ({ id, exporter: exporters.get(id)! })),
        { logger: logger.child({ pipeline: p.id }), metrics, retry: queued ? undefined : { ...DEFAULT_RETRY, retry: false } },
      );
      const processorIds = p.processors;
      let next: Consumer = stage;
      const chain: Array<{ id: string; processor: Processor }> = [];
      for (const id of [...processorIds].reverse()) {
        const c = config.processors.get(id)!;
        const processor = c.factory.create(c.config as never, next, ctx(`${p.id}/${id}`));
        if (componentType(id) === 'batch') queues.push(processor as BatchProcessor);
        chain.unshift({ id, processor });
        next = processor;
      }
      for (const { id, processor } of chain) {
        await processor.start?.();
        started.push({ id: `${p.id}/${id}`, component: processor });
      }
      cleanups.push(async () => {
        // Drain the queue within the deadline, then give up on retries.
        const deadline = setTimeout(() => stage.abort(), config.service.shutdown_timeout);
        for (const { processor } of chain) await processor.shutdown?.();
        clearTimeout(deadline);
      });
      // Receivers ask the head whether to read a request at all; the queue
      // that would refuse it sits further down the chain.
      const gates = chain.flatMap(({ processor }) => (processor.refuses ? [processor] : []));
      const head = next;
      heads.set(
        p.id,
        gates.length === 0
          ? head
          : {
              consume: (batch) => head.consume(batch),
              refuses: () => {
                for (const g of gates) {
                  const r = g.refuses!();
                  if (r) return r;
                }
                return undefined;
              },
            },
      );
    }

    // A receiver named by several pipelines is one instance feeding each.
    const receivers: Array<{ id: string; receiver: Receiver }> = [];
    const receiverIds = new Set(pipelines.flatMap((p) => p.receivers));
    for (const id of receiverIds) {
      const c = config.receivers.get(id)!;
      const next: Partial<Record<Signal, Consumer>> = {};
      for (const p of pipelines) {
        if (!p.receivers.includes(id)) continue;
        if (next[p.signal]) throw new Error(`receiver ${id} feeds two ${p.signal} pipelines (${p.id}); give each pipeline its own receiver`);
        next[p.signal] = heads.get(p.id)!;
      }
      const receiver = c.factory.create(c.config, next, ctx(id));
      await receiver.start();
      receivers.push({ id, receiver });
      started.push({ id, component: receiver });
      cleanups.push(() => receiver.shutdown());
    }

    const health = () => {
      const components: Record<string, boolean> = {};
      for (const s of started) components[s.id] = s.component.ready?.() ?? true;
      if (approvals) components.approvals = true;
      return { ready: Object.values(components).every(Boolean), components };
    };
    const admin = await startAdminServer(config.service.telemetry.admin.endpoint, metrics, health);
    cleanups.push(() => admin.close());

    if (approvals) await approvals.listen(config.service.api.endpoint);

    const ports: RunningService['ports'] = { admin: admin.port, api: approvals?.port() };
    for (const { receiver } of receivers) {
      const p = (receiver as { ports?: () => { http?: number; grpc?: number } }).ports?.();
      if (p?.http !== undefined) ports.http ??= p.http;
      if (p?.grpc !== undefined) ports.grpc ??= p.grpc;
    }
    for (const exporter of exporters.values()) {
      const q = (exporter as { queryPort?: () => number | undefined }).queryPort?.();
      if (q !== undefined) ports.query ??= q;
    }

    logger.info({ ports, dataDir, pipelines: pipelines.map((p) => p.id), role: opts.role ?? 'all' }, 'sluice started');
    let stopping: Promise<void> | undefined;
    return {
      ports,
      engine: approvals?.engine,
      logger,
      metrics,
      config,
      ready: () => health().ready,
      flush: async () => {
        await Promise.all(queues.map((q) => q.drain()));
      },
      stop: () => (stopping ??= stopAll().then(() => logger.info('sluice stopped'))),
      reload: async () => approvals?.reload(),
    };
  } catch (err) {
    await stopAll();
    throw err;
  }
}
