// The `approvals` section of the Sluice config. The core settings (policy,
// log, consume window, ClickHouse copy) are defined here; the API's auth and
// the notification channels bring their own schemas.
import { z } from 'zod';
import { duration } from '../config/units.js';
import { authConfigSchema } from './auth/config.js';
import { kafkaApprovalLogSchema } from './log/kafka.js';
import { pagesConfigSchema } from './pages/config.js';
import { channelsConfigSchema } from './channels/config.js';

export const approvalsLogSchema = z
  .object({
    /** `journal`: an append-only, hash-chained file under the data dir. (Kafka: next release.) */
    type: z.literal('journal').default('journal'),
    /** Directory of journal.jsonl; default `<service.data_dir>/approvals`. */
    dir: z.string().min(1).optional(),
    /** Most events written by one write + fdatasync (group commit). */
    max_batch: z.number().int().min(1).max(10_000).default(512),
  })
  .strict();

export const approvalsStoreSchema = z
  .object({
    /** Copy every approval event to ClickHouse (`sluice_approval_events`) when a ClickHouse exporter is configured. */
    enabled: z.boolean().default(true),
    /** ClickHouse database of the tables; default: the client's database. */
    database: z.string().regex(/^[A-Za-z_][A-Za-z0-9_]*$/, 'use letters, digits and _ only').optional(),
    /** Most events per insert. */
    batch_size: z.number().int().min(1).max(100_000).default(500),
    /** How long an event may wait for more to share its insert. */
    flush_interval: duration('200ms'),
    /** Longest pause between retries while ClickHouse is unreachable (the journal keeps every event meanwhile). */
    max_retry_interval: duration('30s'),
  })
  .strict();

export const approvalsConfigSchema = z
  .object({
    /** The policy file (YAML): which spans are privileged and who decides. Reloaded on change and on SIGHUP. */
    policy_file: z.string({ error: 'set approvals.policy_file to a policy YAML file, e.g. config/policies/example.yaml' }).min(1),
    /** Reload the policy when the file changes (SIGHUP always reloads). */
    watch_policy: z.boolean().default(true),
    /** `journal` (embedded, one process) or `kafka` (shared by every replica: any edge can decide any request). */
    log: z.union([approvalsLogSchema, kafkaApprovalLogSchema]).prefault({}),
    /** How long after approval the action may run (consume); after that the agent must ask again. */
    consume_window: duration('10m'),
    store: approvalsStoreSchema.prefault({} as never),
    auth: authConfigSchema,
    /** Where requests are announced and decided: `slack`, `webhooks` (approvals/channels/). */
    channels: channelsConfigSchema,
    /** Decision page, inbox and console with OIDC sign-in (approvals/pages/). */
    pages: pagesConfigSchema.optional(),
  })
  .strict();

export type ApprovalsConfig = z.output<typeof approvalsConfigSchema>;
export type ApprovalsStoreConfig = z.output<typeof approvalsStoreSchema>;
