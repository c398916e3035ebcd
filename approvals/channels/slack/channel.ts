// The Slack channel assembled from config: notifier + interaction handler,
// served over HTTP (registerSlackRoutes on the API port) or Socket Mode.
import type { FastifyInstance } from 'fastify';
import type { Logger } from 'pino';
import type { ApprovalEngine } from '../../types.js';
import { createSlackClient } from './client.js';
import type { SlackConfig } from './config.js';
import { createSlackUserResolver } from './identity.js';
import { createSlackInteractionHandler, type InteractionHandler } from './interactions.js';
import { startSlackNotifier, type SlackNotifier } from './notifier.js';
import { registerSlackRoutes } from './routes.js';
import { createSlackSocket, type SlackSocket } from './socket.js';

export interface SlackChannel {
  handler: InteractionHandler;
  notifier: SlackNotifier;
  socket?: SlackSocket;
  stop(): Promise<void>;
}

export async function startSlackChannel(opts: {
  engine: ApprovalEngine;
  config: SlackConfig;
  logger: Logger;
  /** The API server; needed in `http` mode for POST /slack/interactions. */
  app?: FastifyInstance;
  onPosted?: (id: string) => void;
}): Promise<SlackChannel> {
  const { engine, config } = opts;
  const logger = opts.logger.child({ channel: 'slack' });
  const client = createSlackClient(config);
  const resolveUser = createSlackUserResolver(client, config, logger);
  const handler = createSlackInteractionHandler({ engine, client, resolveUser, logger });
  const notifier = startSlackNotifier({ engine, client, config, logger, onPosted: opts.onPosted });

  let socket: SlackSocket | undefined;
  if (config.mode === 'http') {
    if (!opts.app) throw new Error('slack http mode needs the API server to serve POST /slack/interactions');
    await registerSlackRoutes(opts.app, { handler, signingSecret: config.signing_secret!, logger, ackTimeoutMs: config.ack_timeout_ms });
  } else {
    socket = await createSlackSocket({ appToken: config.app_token!, apiUrl: config.api_url, handler, logger, ackTimeoutMs: config.ack_timeout_ms });
    await socket.client.start();
  }
  return {
    handler,
    notifier,
    socket,
    async stop() {
      notifier.stop();
      await socket?.stop();
      await notifier.idle();
    },
  };
}
