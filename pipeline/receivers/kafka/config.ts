// Options of the kafka receiver (store role). Names follow the OpenTelemetry
// Collector's kafka receiver where it has the same option (brokers,
// client_id, group_id, initial_offset, session_timeout, heartbeat_interval,
// max_fetch_wait, traces.topic, logs.topic, encoding, auth.*).
import { z } from 'zod';
import { byteSize, duration } from '../../../config/units.js';
import { kafkaConnectionShape } from '../../../exporters/kafka/client.js';

const topic = (def: string) =>
  z
    .string()
    .regex(/^[A-Za-z0-9._-]{1,249}$/, 'a Kafka topic name is 1–249 letters, digits, ".", "_" or "-"')
    .default(def);

const encoding = z.literal('otlp_proto', { error: 'encoding: only otlp_proto is supported (what the kafka exporter and the collector write)' }).default('otlp_proto');

export const kafkaReceiverConfigSchema = z
  .object({
    ...kafkaConnectionShape,
    traces: z.object({ topic: topic('otlp_spans'), encoding }).strict().prefault({}),
    logs: z.object({ topic: topic('otlp_logs'), encoding }).strict().prefault({}),
    /** Every store replica uses the same group, so each partition is written by one of them. */
    group_id: z.string().min(1).default('sluice-store'),
    /**
     * Where a group with no committed offset starts. `earliest` (not the
     * collector's `latest`): a store that starts after the edges must not
     * skip what they already wrote.
     */
    initial_offset: z.enum(['earliest', 'latest']).default('earliest'),
    session_timeout: duration('10s'),
    heartbeat_interval: duration('3s'),
    /** Longest a fetch waits for data before returning what it has. */
    max_fetch_wait: duration('250ms'),
    /** Most bytes fetched per partition per request: the size of one write to the pipeline. */
    max_partition_fetch_bytes: byteSize('4MiB'),
    /**
     * Spans/log records fetched but not yet written that this replica holds
     * while a write is in flight; past it, fetching waits. Bigger: fewer,
     * larger writes; more to write again after a crash.
     */
    max_pending_items: z.number().int().min(1).default(50_000),
    /** Partitions fetched at once by this replica; their batches share one write to the pipeline. */
    partitions_consumed_concurrently: z.number().int().min(1).max(64).default(8),
    /** A fetch waits (up to max_fetch_wait) until this much data is there: larger, fewer writes. */
    min_fetch_bytes: byteSize(1),
    /** Backoff while the pipeline (ClickHouse) refuses a batch; the batch is retried, never skipped. */
    retry: z
      .object({
        initial_interval: duration('250ms'),
        max_interval: duration('30s'),
      })
      .strict()
      .prefault({} as never),
  })
  .strict();

export type KafkaReceiverConfig = z.output<typeof kafkaReceiverConfigSchema>;
