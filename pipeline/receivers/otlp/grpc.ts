// OTLP/gRPC: TraceService/Export and LogsService/Export. Messages stay raw
// bytes through grpc-js (which handles gzip and the size limit) and go to the
// same decoder as OTLP/HTTP protobuf.
import { Metadata, Server, ServerCredentials, status, type ServiceDefinition, type sendUnaryData, type ServerUnaryCall } from '@grpc/grpc-js';
import type { Signal } from '../../model.js';
import { encodeExportResponse } from '../../otlp/encode-protobuf.js';
import type { OtlpGrpcConfig } from './config.js';
import { ingest, type IngestDeps } from './ingest.js';
import { createIngestAuth } from './auth.js';
import { tlsServerOptions } from '../../../config/tls.js';
import { encodeStatusProto, GrpcCode } from './status.js';
import { listenError } from '../../listen.js';

const identity = (b: Buffer) => b;

function exportService(path: string): ServiceDefinition {
  return {
    Export: {
      path,
      requestStream: false,
      responseStream: false,
      requestSerialize: identity,
      requestDeserialize: identity,
      responseSerialize: identity,
      responseDeserialize: identity,
    },
  };
}

export interface GrpcReceiverHandle {
  port: number;
  close(): Promise<void>;
}

export async function startGrpcReceiver(config: OtlpGrpcConfig, deps: IngestDeps): Promise<GrpcReceiverHandle> {
  const server = new Server({
    'grpc.max_receive_message_length': Math.floor(config.max_recv_msg_size_mib * 1024 * 1024),
  });

  const authorized = createIngestAuth(config.auth);
  const handler = (signal: Signal) => (call: ServerUnaryCall<Buffer, Buffer>, callback: sendUnaryData<Buffer>) => {
    if (authorized && !authorized(call.metadata.get('authorization')[0]?.toString())) {
      deps.metrics.receiverRefused.inc({ receiver: deps.receiver, transport: 'grpc', signal, reason: 'unauthenticated' }, 1);
      callback({ code: status.UNAUTHENTICATED, details: 'missing or unknown ingest token (authorization: Bearer <token>)' });
      return;
    }
    ingest(deps, signal, 'protobuf', call.request).then(
      (outcome) => {
        switch (outcome.kind) {
          case 'ok':
            callback(null, Buffer.from(encodeExportResponse(signal, { rejected: outcome.rejected, errorMessage: outcome.errorMessage }, 'protobuf')));
            return;
          case 'invalid':
            callback({ code: status.INVALID_ARGUMENT, details: outcome.message });
            return;
          case 'busy':
          case 'failed': {
            // RetryInfo tells OTLP exporters how long to back off (OTLP spec, "Throttling").
            const retryAfter = outcome.kind === 'busy' ? outcome.retryAfterSeconds : 1;
            const metadata = new Metadata();
            metadata.set('grpc-status-details-bin', encodeStatusProto(GrpcCode.UNAVAILABLE, outcome.message, retryAfter));
            callback({ code: status.UNAVAILABLE, details: outcome.message, metadata });
            return;
          }
          case 'unavailable':
            callback({ code: status.UNIMPLEMENTED, details: outcome.message });
            return;
        }
      },
      (err: Error) => {
        deps.logger.error({ err: err.message }, 'otlp grpc handler failed');
        callback({ code: status.INTERNAL, details: 'internal error' });
      },
    );
  };

  if (deps.next.traces) server.addService(exportService('/opentelemetry.proto.collector.trace.v1.TraceService/Export'), { Export: handler('traces') });
  if (deps.next.logs) server.addService(exportService('/opentelemetry.proto.collector.logs.v1.LogsService/Export'), { Export: handler('logs') });

  const host = config.endpoint.host.includes(':') ? `[${config.endpoint.host}]` : config.endpoint.host;
  const port = await new Promise<number>((resolve, reject) =>
    server.bindAsync(`${host}:${config.endpoint.port}`, credentialsFor(config), (err, p) =>
      err ? reject(listenError(err, `the OTLP/gRPC receiver ${deps.receiver}`, config.endpoint, `set receivers.${deps.receiver}.protocols.grpc.endpoint to another host:port`)) : resolve(p),
    ),
  );
  return {
    port,
    close: () =>
      new Promise<void>((resolve) => {
        const force = setTimeout(() => server.forceShutdown(), 5000);
        server.tryShutdown(() => {
          clearTimeout(force);
          resolve();
        });
      }),
  };
}

function credentialsFor(config: OtlpGrpcConfig): ServerCredentials {
  if (!config.tls) return ServerCredentials.createInsecure();
  const { cert, key, ca } = tlsServerOptions(config.tls) as { cert: Buffer; key: Buffer; ca?: Buffer };
  return ServerCredentials.createSsl(ca ?? null, [{ cert_chain: cert, private_key: key }], ca !== undefined);
}
