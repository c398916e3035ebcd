import type { Receiver, ReceiverFactory } from '../../component.js';
import { otlpReceiverConfigSchema } from './config.js';
import { startGrpcReceiver, type GrpcReceiverHandle } from './grpc.js';
import { startHttpReceiver, type HttpReceiverHandle } from './http.js';

export interface OtlpReceiver extends Receiver {
  /** Bound ports once started (useful with port 0). */
  ports(): { http?: number; grpc?: number };
}

export const otlpReceiverFactory = {
  type: 'otlp',
  configSchema: otlpReceiverConfigSchema,
  signals: ['traces', 'logs'],
  create(config, next, ctx): OtlpReceiver {
    let http: HttpReceiverHandle | undefined;
    let grpc: GrpcReceiverHandle | undefined;
    const deps = (transport: 'http' | 'grpc') => ({ receiver: ctx.id, transport, next, metrics: ctx.metrics, logger: ctx.logger });
    return {
      async start() {
        if (config.protocols.http) http = await startHttpReceiver(config.protocols.http, deps('http'));
        if (config.protocols.grpc) {
          // The HTTP side is already listening: close it, or a failed start leaves it bound.
          grpc = await startGrpcReceiver(config.protocols.grpc, deps('grpc')).catch(async (err: unknown) => {
            await http?.close();
            throw err;
          });
        }
        ctx.logger.info({ receiver: ctx.id, http: http?.port, grpc: grpc?.port }, 'otlp receiver listening');
      },
      async shutdown() {
        await Promise.all([http?.close(), grpc?.close()]);
      },
      ports: () => ({ http: http?.port, grpc: grpc?.port }),
    };
  },
} satisfies ReceiverFactory<typeof otlpReceiverConfigSchema>;
