// Options of the kafka exporter. Names and defaults follow the OpenTelemetry
// Collector's kafka exporter where it has the same option (brokers,
// client_id, traces.topic, logs.topic, encoding, producer.*, auth.*), so a
// collector reading the same topics needs no translation.
import { z } from 'zod';
import { byteSize, duration } from '../../config/units.js';
import { kafkaConnectionShape } from './client.js';

const topic = (def: string) =>
  z
    .string()
    .regex(/^[A-Za-z0-9._-]{1,249}$/, 'a Kafka topic name is 1–249 letters, digits, ".", "_" or "-"')
    .default(def);

/** `otlp_proto`: ExportTraceServiceRequest / ExportLogsServiceRequest bytes, what the collector calls otlp_proto. */
const encoding = z.literal('otlp_proto', { error: 'encoding: only otlp_proto is supported (the collector default), so a stock collector reads the topic' }).default('otlp_proto');

export const kafkaExporterConfigSchema = z
  .object({
    ...kafkaConnectionShape,
    traces: z.object({ topic: topic('otlp_spans'), encoding }).strict().prefault({}),
    logs: z.object({ topic: topic('otlp_logs'), encoding }).strict().prefault({}),
    /**
     * One message per trace, keyed by the trace id (hex), so a trace stays in
     * one partition. false: one message per export, no key (round-robin).
     */
    partition_traces_by_id: z.boolean().default(true),
    /** One message per trace id for log records too; records without a trace id share one unkeyed message. */
    partition_logs_by_trace_id: z.boolean().default(true),
    /** The whole send, retries included; past it the client is told to retry (503 / UNAVAILABLE). */
    timeout: duration('5s'),
    producer: z
      .object({
        /** Messages larger than this are split by span/record; a single item larger than it is dropped and counted. */
        max_message_bytes: byteSize(1_000_000),
        /** `none` or `gzip` (kafkajs ships gzip; snappy/lz4/zstd need codecs Sluice does not bundle). */
        compression: z.enum(['none', 'gzip'], { error: 'producer.compression: none or gzip (snappy, lz4 and zstd need codecs Sluice does not bundle)' }).default('none'),
        /**
         * Idempotent producer (acks -1, one request in flight per broker): a
         * retried produce request never writes a message twice. Turn off only
         * for clusters that cannot serve InitProducerId (librdkafka's mock
         * cluster reports controller 0, which is none of its brokers).
         */
        idempotent: z.boolean().default(true),
        /** Retries of one produce request by kafkajs before the export fails. */
        max_retries: z.number().int().min(1).max(100).default(3),
        /** Most bytes one produce call carries when concurrent exports are coalesced. */
        flush_max_bytes: byteSize('8MiB'),
      })
      .strict()
      .prefault({} as never),
  })
  .strict();

export type KafkaExporterConfig = z.output<typeof kafkaExporterConfigSchema>;
