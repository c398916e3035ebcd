// What both transports do with a request body once it is in memory: decode,
// hand the valid items to the pipeline, and say what happened in terms each
// transport can turn into its own status codes. Decoding rejects malformed
// items one by one, so the rest of a batch still lands.
import type { Logger } from 'pino';
import { QueueFullError, type Consumer } from '../../component.js';
import type { Signal, Batch } from '../../model.js';
import { decodeLogs, decodeTraces } from '../../otlp/decode-protobuf.js';
import { decodeLogsJson, decodeTracesJson } from '../../otlp/decode-json.js';
import { OtlpDecodeError } from '../../otlp/errors.js';
import type { SelfMetrics } from '../../telemetry/metrics.js';

export type Encoding = 'protobuf' | 'json';

export type IngestOutcome =
  | { kind: 'ok'; accepted: number; rejected: number; errorMessage: string }
  | { kind: 'invalid'; message: string }
  | { kind: 'busy'; message: string; retryAfterSeconds: number }
  | { kind: 'unavailable'; message: string }
  | { kind: 'failed'; message: string };

interface DecodeResult {
  batch: Batch;
  accepted: number;
  rejected: number;
  errors: string[];
}

function decode(signal: Signal, encoding: Encoding, body: Buffer): DecodeResult {
  if (encoding === 'protobuf') return signal === 'traces' ? decodeTraces(body) : decodeLogs(body);
  const text = body.toString('utf8');
  return signal === 'traces' ? decodeTracesJson(text) : decodeLogsJson(text);
}

export interface IngestDeps {
  receiver: string;
  transport: 'http' | 'grpc';
  next: Partial<Record<Signal, Consumer>>;
  metrics: SelfMetrics;
  logger: Logger;
}

/**
 * The pushback for a request not yet read or decoded, when the queue is
 * already too full to take a typical one (counted as a refused request; its
 * items are unknown). Undefined: go on.
 */
export function refuseEarly(deps: IngestDeps, signal: Signal): IngestOutcome | undefined {
  const full = deps.next[signal]?.refuses?.();
  if (!full) return undefined;
  deps.metrics.receiverRefusedRequests.inc({ receiver: deps.receiver, transport: deps.transport, signal, reason: 'queue_full' }, 1);
  return { kind: 'busy', message: full.message, retryAfterSeconds: full.retryAfterSeconds };
}

export async function ingest(deps: IngestDeps, signal: Signal, encoding: Encoding, body: Buffer): Promise<IngestOutcome> {
  const labels = { receiver: deps.receiver, transport: deps.transport, signal };
  const next = deps.next[signal];
  if (!next) return { kind: 'unavailable', message: `no ${signal} pipeline is configured for this receiver` };
  // An empty request queues nothing and is answered as usual.
  const early = body.length > 0 ? refuseEarly(deps, signal) : undefined;
  if (early) return early;
  let decoded: DecodeResult;
  try {
    decoded = decode(signal, encoding, body);
  } catch (err) {
    if (err instanceof OtlpDecodeError) {
      deps.metrics.receiverRefused.inc({ ...labels, reason: 'malformed' }, 1);
      return { kind: 'invalid', message: err.message };
    }
    deps.logger.error({ err: (err as Error).message, signal }, 'decoder failed unexpectedly');
    return { kind: 'failed', message: 'internal error while decoding' };
  }
  if (decoded.rejected) deps.metrics.receiverRefused.inc({ ...labels, reason: 'malformed' }, decoded.rejected);
  const errorMessage = decoded.rejected ? `rejected ${decoded.rejected} malformed ${signal === 'traces' ? 'span' : 'log record'}(s): ${decoded.errors.join('; ')}` : '';
  if (decoded.accepted === 0) return { kind: 'ok', accepted: 0, rejected: decoded.rejected, errorMessage };
  try {
    await next.consume(decoded.batch);
  } catch (err) {
    if (err instanceof QueueFullError) {
      deps.metrics.receiverRefused.inc({ ...labels, reason: 'queue_full' }, decoded.accepted);
      deps.metrics.receiverRefusedRequests.inc({ ...labels, reason: 'queue_full' }, 1);
      return { kind: 'busy', message: err.message, retryAfterSeconds: err.retryAfterSeconds };
    }
    deps.metrics.receiverRefused.inc({ ...labels, reason: 'error' }, decoded.accepted);
    deps.logger.error({ err: (err as Error).message, signal }, 'pipeline refused a batch');
    return { kind: 'failed', message: 'the pipeline could not accept the batch; retry later' };
  }
  deps.metrics.receiverAccepted.inc(labels, decoded.accepted);
  return { kind: 'ok', accepted: decoded.accepted, rejected: decoded.rejected, errorMessage };
}
