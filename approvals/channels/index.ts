// Starts every configured decision channel against one engine. The service
// calls this once, after the API server exists (Slack's HTTP endpoint lives on it).
import type { FastifyInstance } from 'fastify';
import type { Logger } from 'pino';
import type { SelfMetrics } from '../../pipeline/telemetry/metrics.js';
import type { ApprovalEngine } from '../types.js';
import type { ChannelsConfig } from './config.js';
import { startSlackChannel, type SlackChannel } from './slack/channel.js';
import { startWebhookNotifier, type WebhookNotifier } from './webhook/notifier.js';
import { startTeamsNotifier, type TeamsNotifier } from './teams/notifier.js';

export interface ApprovalChannels {
  slack?: SlackChannel;
  webhooks?: WebhookNotifier;
  teams?: TeamsNotifier;
  /** Resolves when every queued notification has been sent or given up. */
  idle(): Promise<void>;
  stop(): Promise<void>;
}

export async function startApprovalChannels(opts: {
  engine: ApprovalEngine;
  config: ChannelsConfig;
  logger: Logger;
  metrics?: SelfMetrics;
  /** The API server, before it listens (fastify adds routes until ready). */
  app?: FastifyInstance;
  /** Base URL of the decision pages (approvals.pages.public_url): Teams cards link there. */
  pageUrl?: string;
  onSlackPosted?: (id: string) => void;
}): Promise<ApprovalChannels> {
  const { engine, config, logger } = opts;
  const slack = config.slack ? await startSlackChannel({ engine, config: config.slack, logger, app: opts.app, onPosted: opts.onSlackPosted }) : undefined;
  const webhooks = config.webhooks.length > 0 ? startWebhookNotifier({ engine, webhooks: config.webhooks, logger, metrics: opts.metrics }) : undefined;
  let teams: TeamsNotifier | undefined;
  if (config.teams) {
    const pageUrl = config.teams.page_url ?? opts.pageUrl;
    if (!pageUrl) throw new Error("approvals.channels.teams needs page_url (or approvals.pages.public_url): the cards' buttons open the decision pages");
    teams = startTeamsNotifier({ engine, config: config.teams, pageUrl, logger, metrics: opts.metrics });
  }
  return {
    slack,
    webhooks,
    teams,
    async idle() {
      await Promise.all([slack?.notifier.idle(), webhooks?.idle(), teams?.idle()]);
    },
    async stop() {
      webhooks?.stop();
      teams?.stop();
      await Promise.all([slack?.stop(), teams?.idle()]);
    },
  };
}
