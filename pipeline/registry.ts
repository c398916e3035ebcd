// Every component type Sluice knows, by the name used in config. Adding a
// component means adding its factory here; nothing else knows the list.
import type { z } from 'zod';
import type { ExporterFactory, ProcessorFactory, ReceiverFactory } from './component.js';
import { otlpReceiverFactory } from './receivers/otlp/factory.js';
import { kafkaReceiverFactory } from './receivers/kafka/factory.js';
import { batchProcessorFactory } from '../processors/batch/factory.js';
import { redactionProcessorFactory } from '../processors/redaction/factory.js';
import { privilegedProcessorFactory } from '../processors/privileged/factory.js';
import { clickhouseExporterFactory } from '../exporters/clickhouse/factory.js';
import { debugExporterFactory } from '../exporters/debug/factory.js';
import { kafkaExporterFactory } from '../exporters/kafka/factory.js';
import { approvalsConfigSchema as approvalsSchema } from '../approvals/config.js';

const byType = <F extends { type: string }>(...factories: F[]) => new Map(factories.map((f) => [f.type, f]));

export const receiverFactories = byType<ReceiverFactory>(otlpReceiverFactory as unknown as ReceiverFactory, kafkaReceiverFactory as unknown as ReceiverFactory);

export const processorFactories = byType<ProcessorFactory>(
  batchProcessorFactory as unknown as ProcessorFactory,
  redactionProcessorFactory as unknown as ProcessorFactory,
  privilegedProcessorFactory as unknown as ProcessorFactory,
);

export const exporterFactories = byType<ExporterFactory>(
  clickhouseExporterFactory as unknown as ExporterFactory,
  debugExporterFactory as unknown as ExporterFactory,
  kafkaExporterFactory as unknown as ExporterFactory,
);

export const approvalsConfigSchema: z.ZodType = approvalsSchema;
