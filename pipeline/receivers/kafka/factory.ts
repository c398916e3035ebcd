// The `kafka` receiver (store role): consumes the topics the kafka exporter
// (or any OpenTelemetry Collector) writes, as one consumer group, and commits
// offsets only after the pipeline wrote the batch.
import type { ReceiverFactory } from '../../component.js';
import { kafkaReceiverConfigSchema } from './config.js';
import { KafkaReceiver } from './receiver.js';

export const kafkaReceiverFactory = {
  type: 'kafka',
  configSchema: kafkaReceiverConfigSchema,
  signals: ['traces', 'logs'] as const,
  create(config, next, ctx) {
    return new KafkaReceiver(config, next, ctx);
  },
} satisfies ReceiverFactory<typeof kafkaReceiverConfigSchema>;
