// The shapes every component folder exports, after the OpenTelemetry
// Collector's factories: a type name, a zod config schema with defaults, and
// `create`. Components never call each other; each is handed the `next`
// consumer it pushes to, and pipeline assembly (service.ts) is the only place
// that knows the graph.
import type { z } from 'zod';
import type { Logger } from 'pino';
import type { Batch, Signal } from './model.js';
import type { SelfMetrics } from './telemetry/metrics.js';
import type { ApprovalEngine } from '../approvals/types.js';

export interface Consumer {
  /**
   * Takes ownership of the batch. Resolves once the batch is accepted by the
   * next stage (for the batch processor: safely queued). Rejects with
   * QueueFullError when downstream is full, which receivers turn into
   * 503/429 + Retry-After (OTLP backpressure).
   */
  consume(batch: Batch): Promise<void>;
  /**
   * Asked before a receiver reads and decodes a request: the QueueFullError
   * consume() would throw for a typical batch, when downstream is already too
   * full to take one. Under overload most requests are pushed back, and each
   * would otherwise be read, decoded and redacted first, for nothing: CPU
   * taken from the exporters, which set the rate. Undefined means "send it":
   * consume() still has the last word.
   */
  refuses?(): QueueFullError | undefined;
}

export interface Lifecycle {
  start?(): Promise<void>;
  shutdown?(): Promise<void>;
  /** For /healthz: false while the component cannot do its job (e.g. its store is unreachable). */
  ready?(): boolean;
}

export interface ComponentContext {
  /** The component's id in config, e.g. `clickhouse` or `otlp/agents`. */
  id: string;
  logger: Logger;
  metrics: SelfMetrics;
  /** Directory for local state (journal, disk queue, embedded store). */
  dataDir: string;
  /** The process's approval engine, when `approvals` is configured (the privileged processor needs it). */
  approvals?: ApprovalEngine;
}

export type Processor = Consumer & Lifecycle;

export interface Exporter extends Lifecycle {
  /** Writes a batch; rejects on failure. The pipeline retries with backoff. */
  export(batch: Batch): Promise<void>;
}

export type Receiver = Lifecycle & Required<Pick<Lifecycle, 'start' | 'shutdown'>>;

export interface ProcessorFactory<S extends z.ZodType = z.ZodType> {
  type: string;
  configSchema: S;
  signals: readonly Signal[];
  create(config: z.output<S>, next: Consumer, ctx: ComponentContext): Processor;
}

export interface ExporterFactory<S extends z.ZodType = z.ZodType> {
  type: string;
  configSchema: S;
  signals: readonly Signal[];
  create(config: z.output<S>, ctx: ComponentContext): Exporter;
}

export interface ReceiverFactory<S extends z.ZodType = z.ZodType> {
  type: string;
  configSchema: S;
  signals: readonly Signal[];
  create(config: z.output<S>, next: Partial<Record<Signal, Consumer>>, ctx: ComponentContext): Receiver;
}

/** Downstream is full: answer the client with backpressure, do not drop. */
export class QueueFullError extends Error {
  constructor(
    message: string,
    /** Seconds the client should wait before retrying. */
    readonly retryAfterSeconds = 1,
  ) {
    super(message);
    this.name = 'QueueFullError';
  }
}
