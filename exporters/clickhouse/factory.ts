// The `clickhouse` exporter: sanitized spans and log records into the
// OpenTelemetry Collector's otel_traces / otel_logs tables, on an embedded
// chDB store or a ClickHouse server.
import type { ExporterFactory } from '../../pipeline/component.js';
import { clickhouseConfigSchema } from './config.js';
import { ClickHouseExporter } from './exporter.js';

export const clickhouseExporterFactory = {
  type: 'clickhouse',
  configSchema: clickhouseConfigSchema,
  signals: ['traces', 'logs'] as const,
  create(config, ctx) {
    return new ClickHouseExporter(config, ctx);
  },
} satisfies ExporterFactory<typeof clickhouseConfigSchema>;
