import { z } from 'zod';
import { byteSize, hostPort } from '../../../config/units.js';
import { tokenConfigSchema } from '../../../approvals/auth/config.js';
import { tlsSchema } from '../../../config/tls.js';

export { tlsSchema };

/**
 * Ingest tokens: clients send `Authorization: Bearer <token>` (HTTP header or
 * gRPC metadata, e.g. OTEL_EXPORTER_OTLP_HEADERS="Authorization=Bearer …").
 * Only SHA-256 hashes are kept; every token needs the `ingest` scope.
 */
export const ingestAuthSchema = z
  .object({
    tokens: z
      .array(tokenConfigSchema)
      .min(1, 'list at least one token, or remove `auth` to accept unauthenticated clients')
      .refine((ts) => ts.every((t) => t.scopes.includes('ingest')), 'every OTLP token needs the `ingest` scope'),
  })
  .strict();

// The collector accepts `http:` with no value to mean "on, with defaults".
const orEmpty = <T extends z.ZodType>(schema: T) => z.preprocess((v) => (v === null ? {} : v), schema);

export const otlpHttpSchema = z
  .object({
    endpoint: hostPort('127.0.0.1:4318'),
    /** Largest request body, compressed and decompressed alike; 413 past it. */
    max_request_body_size: byteSize('20MiB'),
    traces_url_path: z.string().startsWith('/').default('/v1/traces'),
    logs_url_path: z.string().startsWith('/').default('/v1/logs'),
    /** A request must arrive whole within this time (slow-loris guard). */
    read_timeout: z.number().int().positive().default(30_000),
    tls: tlsSchema.optional(),
    auth: ingestAuthSchema.optional(),
  })
  .strict();

export const otlpGrpcSchema = z
  .object({
    endpoint: hostPort('127.0.0.1:4317'),
    /** Largest message after decompression, in MiB (the collector's default is 4). */
    max_recv_msg_size_mib: z.number().positive().default(4),
    tls: tlsSchema.optional(),
    auth: ingestAuthSchema.optional(),
  })
  .strict();

export const otlpReceiverConfigSchema = z
  .object({
    protocols: z
      .object({
        http: orEmpty(otlpHttpSchema).optional(),
        grpc: orEmpty(otlpGrpcSchema).optional(),
      })
      .strict()
      .refine((p) => p.http || p.grpc, 'enable at least one of protocols.http or protocols.grpc'),
  })
  .strict();

export type OtlpReceiverConfig = z.output<typeof otlpReceiverConfigSchema>;
export type OtlpHttpConfig = z.output<typeof otlpHttpSchema>;
export type OtlpGrpcConfig = z.output<typeof otlpGrpcSchema>;
export type IngestAuthConfig = z.output<typeof ingestAuthSchema>;
