// Connection options every Kafka component shares (the exporter, the kafka
// receiver, the approval log on Kafka), named as in the OpenTelemetry
// Collector's kafka exporter/receiver (`brokers`, `client_id`,
// `auth.sasl`, `auth.tls`), and the kafkajs client built from them.
import { readFileSync } from 'node:fs';
import type { ConnectionOptions } from 'node:tls';
import { Kafka, logLevel, type KafkaConfig, type SASLOptions } from 'kafkajs';
import type { Logger } from 'pino';
import { z } from 'zod';
import { byteSize, duration } from '../../config/units.js';

export const saslSchema = z
  .object({
    mechanism: z.enum(['PLAIN', 'SCRAM-SHA-256', 'SCRAM-SHA-512'], {
      error: 'auth.sasl.mechanism must be PLAIN, SCRAM-SHA-256 or SCRAM-SHA-512',
    }),
    username: z.string().min(1, 'auth.sasl.username is empty'),
    password: z.string(),
  })
  .strict();

export const kafkaTlsSchema = z
  .object({
    /** PEM file of the CA that signed the brokers' certificates; default: the system's CAs. */
    ca_file: z.string().min(1).optional(),
    /** PEM client certificate and key, for brokers that require mTLS. Set both or neither. */
    cert_file: z.string().min(1).optional(),
    key_file: z.string().min(1).optional(),
    /** Accept any broker certificate. For a lab only. */
    insecure_skip_verify: z.boolean().default(false),
    /** The name to check the brokers' certificates against, when it differs from the broker host. */
    server_name_override: z.string().min(1).optional(),
  })
  .strict()
  .refine((t) => (t.cert_file === undefined) === (t.key_file === undefined), 'auth.tls: set both cert_file and key_file, or neither');

export const kafkaAuthSchema = z
  .object({
    sasl: saslSchema.optional(),
    /** TLS to the brokers; `tls: {}` turns it on with the system's CAs. */
    tls: kafkaTlsSchema.optional(),
  })
  .strict();

function splitBrokers(v: unknown): unknown {
  const list = typeof v === 'string' ? [v] : v;
  if (!Array.isArray(list)) return v;
  return list.flatMap((b: unknown) => (typeof b === 'string' ? b.split(',').map((x) => x.trim()).filter(Boolean) : [b]));
}

/** The fields every Kafka component's config starts with. */
export const kafkaConnectionShape = {
  /** Bootstrap brokers, host:port. An entry may hold several, comma-separated (one env variable for the list). */
  brokers: z
    .preprocess(
      splitBrokers,
      z.array(z.string().regex(/^[^\s:]+:\d+$/, 'each broker is host:port, e.g. kafka-1:9092')).min(1, 'list at least one broker, e.g. brokers: [kafka-1:9092]'),
    )
    .prefault(['localhost:9092']),
  client_id: z.string().min(1).default('sluice'),
  auth: kafkaAuthSchema.optional(),
  /** How long to wait for a TCP connection to a broker. */
  connect_timeout: duration('3s'),
  /** How long one request to a broker may take before it is retried. */
  request_timeout: duration('10s'),
};

export const kafkaConnectionSchema = z.object(kafkaConnectionShape).strict();
export type KafkaConnectionConfig = z.output<typeof kafkaConnectionSchema>;

function readPem(path: string, what: string): Buffer {
  try {
    return readFileSync(path);
  } catch (err) {
    throw new Error(`cannot read ${what} ${path}: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}; fix the path or the file's permissions`);
  }
}

function tlsOptions(tls: z.output<typeof kafkaTlsSchema>): ConnectionOptions {
  const o: ConnectionOptions = { rejectUnauthorized: !tls.insecure_skip_verify };
  if (tls.ca_file) o.ca = [readPem(tls.ca_file, 'auth.tls.ca_file')];
  if (tls.cert_file) o.cert = readPem(tls.cert_file, 'auth.tls.cert_file');
  if (tls.key_file) o.key = readPem(tls.key_file, 'auth.tls.key_file');
  if (tls.server_name_override) o.servername = tls.server_name_override;
  return o;
}

function saslOptions(sasl: z.output<typeof saslSchema>): SASLOptions {
  const { username, password } = sasl;
  switch (sasl.mechanism) {
    case 'PLAIN':
      return { mechanism: 'plain', username, password };
    case 'SCRAM-SHA-256':
      return { mechanism: 'scram-sha-256', username, password };
    case 'SCRAM-SHA-512':
      return { mechanism: 'scram-sha-512', username, password };
  }
}

/** kafkajs's client config from ours: TLS and SASL resolved, its logs routed to pino. */
export function kafkaClientConfig(c: KafkaConnectionConfig, logger: Logger, retries: number): KafkaConfig {
  const kc: KafkaConfig = {
    brokers: c.brokers,
    clientId: c.client_id,
    connectionTimeout: c.connect_timeout,
    requestTimeout: c.request_timeout,
    // kafkajs's INFO is per-connection chatter; warnings and errors are worth keeping.
    logLevel: logLevel.WARN,
    logCreator: () => (entry) => {
      // kafkajs log entries hold broker addresses and protocol errors, never message payloads.
      const { message, ...rest } = entry.log;
      const fields = { kafka: entry.namespace, broker: rest.broker, error: rest.error, retryCount: rest.retryCount };
      if (entry.level === logLevel.ERROR) logger.error(fields, `kafka: ${message}`);
      else if (entry.level === logLevel.WARN) logger.warn(fields, `kafka: ${message}`);
      else logger.debug(fields, `kafka: ${message}`);
    },
    retry: { retries, initialRetryTime: 100, maxRetryTime: 2_000 },
  };
  if (c.auth?.tls) kc.ssl = tlsOptions(c.auth.tls);
  if (c.auth?.sasl) kc.sasl = saslOptions(c.auth.sasl);
  return kc;
}

export function createKafka(c: KafkaConnectionConfig, logger: Logger, retries: number): Kafka {
  return new Kafka(kafkaClientConfig(c, logger, retries));
}
