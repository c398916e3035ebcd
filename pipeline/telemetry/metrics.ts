// The collector's own metrics, in Prometheus form on the admin port. Labels
// carry component ids, signals, reasons and rule types only, never telemetry
// content (invariant 1: nothing unredacted in a metric label).
import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';

export class SelfMetrics {
  readonly registry = new Registry();

  /** Items accepted by a receiver (after decode, before the pipeline). */
  readonly receiverAccepted = new Counter({
    name: 'sluice_receiver_accepted_items_total',
    help: 'Spans or log records a receiver accepted into the pipeline.',
    labelNames: ['receiver', 'transport', 'signal'] as const,
    registers: [this.registry],
  });

  /** Items a receiver refused: malformed, or backpressure. The client was told. */
  readonly receiverRefused = new Counter({
    name: 'sluice_receiver_refused_items_total',
    help: 'Spans or log records a receiver refused, by reason (malformed, queue_full, too_large, error). The client was told.',
    labelNames: ['receiver', 'transport', 'signal', 'reason'] as const,
    registers: [this.registry],
  });

  /** Requests pushed back because the queue was full, whether refused before or after decoding. */
  readonly receiverRefusedRequests = new Counter({
    name: 'sluice_receiver_refused_requests_total',
    help: 'Requests a receiver pushed back (503/429, gRPC UNAVAILABLE) because the queue was full. Those refused before decoding are not in sluice_receiver_refused_items_total: their items were never counted.',
    labelNames: ['receiver', 'transport', 'signal', 'reason'] as const,
    registers: [this.registry],
  });

  readonly exporterSent = new Counter({
    name: 'sluice_exporter_sent_items_total',
    help: 'Spans or log records an exporter wrote successfully.',
    labelNames: ['exporter', 'signal'] as const,
    registers: [this.registry],
  });

  readonly exporterFailedAttempts = new Counter({
    name: 'sluice_exporter_send_failed_items_total',
    help: 'Spans or log records in export attempts that failed and will be retried.',
    labelNames: ['exporter', 'signal'] as const,
    registers: [this.registry],
  });

  /** Items lost for good. Should stay zero; anything here is an incident. */
  readonly dropped = new Counter({
    name: 'sluice_dropped_items_total',
    help: 'Spans or log records dropped after acceptance (for example at shutdown past the deadline).',
    labelNames: ['component', 'signal', 'reason'] as const,
    registers: [this.registry],
  });

  readonly exportLatency = new Histogram({
    name: 'sluice_exporter_latency_seconds',
    help: 'Time to write one batch, including retries.',
    labelNames: ['exporter', 'signal'] as const,
    buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30],
    registers: [this.registry],
  });

  readonly queueSize = new Gauge({
    name: 'sluice_queue_size',
    help: 'Spans or log records waiting in the queue.',
    labelNames: ['pipeline'] as const,
    registers: [this.registry],
  });

  readonly queueCapacity = new Gauge({
    name: 'sluice_queue_capacity',
    help: 'Capacity of the queue in spans or log records.',
    labelNames: ['pipeline'] as const,
    registers: [this.registry],
  });

  readonly redactions = new Counter({
    name: 'sluice_redactions_total',
    help: 'Values redacted, by rule type and signal.',
    labelNames: ['type', 'signal'] as const,
    registers: [this.registry],
  });

  readonly approvalEvents = new Counter({
    name: 'sluice_approval_events_total',
    help: 'Approval log events by type (opened, approved, denied, expired, ungated, decision_refused, ...).',
    labelNames: ['type'] as const,
    registers: [this.registry],
  });

  constructor(opts: { defaultMetrics?: boolean } = {}) {
    if (opts.defaultMetrics !== false) collectDefaultMetrics({ register: this.registry, prefix: 'sluice_process_' });
  }
}
