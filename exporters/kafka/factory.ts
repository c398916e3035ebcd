// The `kafka` exporter: sanitized spans and log records onto Kafka topics as
// OTLP protobuf, for store replicas or any OpenTelemetry Collector to read.
import type { ExporterFactory } from '../../pipeline/component.js';
import { kafkaExporterConfigSchema } from './config.js';
import { KafkaExporter } from './exporter.js';

export const kafkaExporterFactory = {
  type: 'kafka',
  configSchema: kafkaExporterConfigSchema,
  signals: ['traces', 'logs'] as const,
  create(config, ctx) {
    return new KafkaExporter(config, ctx);
  },
} satisfies ExporterFactory<typeof kafkaExporterConfigSchema>;
