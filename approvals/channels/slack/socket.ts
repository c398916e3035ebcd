// Socket Mode: Slack delivers the same interaction payloads over a WebSocket
// opened with an app-level token, so Sluice needs no public endpoint. Slack
// signs nothing here: the connection itself is authenticated.
import type { SocketModeClient } from '@slack/socket-mode';
import { LogLevel } from '@slack/web-api';
import type { Logger } from 'pino';
import { handleWithin, type InteractionHandler } from './interactions.js';

export interface SlackSocket {
  client: SocketModeClient;
  stop(): Promise<void>;
}

/**
 * Wires the shared handler to a Socket Mode client (not yet connected: call
 * `client.start()`). Loaded on demand: HTTP-mode deployments never load the
 * WebSocket stack.
 */
export async function createSlackSocket(opts: { appToken: string; apiUrl: string; handler: InteractionHandler; logger: Logger; ackTimeoutMs?: number }): Promise<SlackSocket> {
  const { SocketModeClient } = await import('@slack/socket-mode');
  const client = new SocketModeClient({ appToken: opts.appToken, logLevel: LogLevel.ERROR, clientOptions: { slackApiUrl: opts.apiUrl } });
  client.on('interactive', async ({ ack, body }: { ack: (response?: Record<string, unknown>) => Promise<void>; body: unknown }) => {
    const response = await handleWithin(opts.handler, body, opts.ackTimeoutMs ?? 2500, opts.logger);
    try {
      await ack(response);
    } catch (err) {
      opts.logger.warn({ err: (err as Error).message }, 'slack socket mode: ack failed');
    }
  });
  return {
    client,
    async stop() {
      await client.disconnect().catch(() => undefined);
    },
  };
}
