// The ClickHouse copy of the approval log: one row per event in
// `sluice_approval_events`, and `sluice_approval_requests`, a view of each
// request's current state, for Grafana. The journal is the source of truth:
// events are already durable there, so this copy may lag (ClickHouse down)
// and catches up from the log on start and after a gap.
import type { Logger } from 'pino';
import { applyEvent, emptyState } from '../engine/reducer.js';
import { canonicalJson } from '../log/chain.js';
import type { ApprovalLog } from '../log/types.js';
import type { ApprovalEngine, ApprovalEvent, ApprovalRequest } from '../types.js';

/** The slice of the ClickHouse exporter's handle this store uses (exporters/clickhouse). */
export interface ClickHouseHandle {
  /** The table is a bare name; the database travels apart (the exporter's store quotes both). */
  insert(table: string, ndjson: Buffer, opts?: { database?: string }): Promise<void>;
  command(sql: string): Promise<void>;
  queryJson<T>(sql: string): Promise<T[]>;
}

export const EVENTS_TABLE = 'sluice_approval_events';
export const REQUESTS_VIEW = 'sluice_approval_requests';

function qualify(database: string | undefined, name: string): string {
  return database ? `${database}.${name}` : name;
}

const DECISIONS = `('approved', 'denied', 'expired', 'cancelled')`;

/** DDL for the events table and the current-state view; idempotent (IF NOT EXISTS). */
export function approvalStoreDdl(database?: string): string[] {
  const events = qualify(database, EVENTS_TABLE);
  const out: string[] = [];
  if (database) out.push(`CREATE DATABASE IF NOT EXISTS ${database}`);
  out.push(`CREATE TABLE IF NOT EXISTS ${events} (
    Timestamp DateTime64(3, 'UTC') CODEC(Delta, ZSTD(1)),
    Seq UInt64,
    Type LowCardinality(String),
    ApprovalId String,
    State LowCardinality(String),
    Policy LowCardinality(String),
    Rule LowCardinality(String),
    Action LowCardinality(String),
    Resource String,
    Requester String,
    Agent LowCardinality(String),
    ActorId String,
    ActorName String,
    ActorVia LowCardinality(String),
    ActorGroups Array(LowCardinality(String)),
    Channel LowCardinality(String),
    Comment String,
    Reason String,
    Context Map(LowCardinality(String), String),
    ActionHash String,
    CreatedAt DateTime64(3, 'UTC'),
    ExpiresAt DateTime64(3, 'UTC'),
    MinApprovals UInt16,
    ApprovalCount UInt16,
    TraceId String,
    SpanId String,
    Data String CODEC(ZSTD(1)),
    Record String CODEC(ZSTD(1)),
    PrevHash String,
    Hash String
  ) ENGINE = MergeTree
  PARTITION BY toYYYYMM(Timestamp)
  ORDER BY (Seq)
  SETTINGS non_replicated_deduplication_window = 1000`);
  out.push(`CREATE VIEW IF NOT EXISTS ${qualify(database, REQUESTS_VIEW)} AS
  SELECT
    ApprovalId,
    argMax(State, Seq) AS State,
    argMax(Policy, Seq) AS Policy,
    argMax(Rule, Seq) AS Rule,
    argMax(Action, Seq) AS Action,
    argMax(Resource, Seq) AS Resource,
    argMax(Requester, Seq) AS Requester,
    argMax(Agent, Seq) AS Agent,
    argMax(Context, Seq) AS Context,
    argMax(MinApprovals, Seq) AS MinApprovals,
    argMax(ApprovalCount, Seq) AS ApprovalCount,
    argMax(CreatedAt, Seq) AS OpenedAt,
    argMax(ExpiresAt, Seq) AS ExpiresAt,
    if(countIf(Type IN ${DECISIONS}) > 0, maxIf(Timestamp, Type IN ${DECISIONS}), NULL) AS DecidedAt,
    argMaxIf(ActorId, Seq, Type IN ${DECISIONS}) AS DecidedBy,
    if(countIf(Type IN ('executed', 'failed')) > 0, maxIf(Timestamp, Type IN ('executed', 'failed')), NULL) AS CompletedAt,
    countIf(Type = 'decision_refused') AS RefusedAttempts,
    max(Seq) AS LastSeq,
    argMax(Hash, Seq) AS LastHash
  FROM ${events}
  WHERE ApprovalId != '' AND Type NOT IN ('ungated', 'flagged')
  GROUP BY ApprovalId`);
  return out;
}

function ts(ms: number | undefined): string {
  return new Date(ms ?? 0).toISOString().replace('T', ' ').replace('Z', '');
}

function str(v: unknown): string {
  return typeof v === 'string' ? v : v === undefined || v === null ? '' : String(v);
}

/** One row of sluice_approval_events; `request` is the request's state after the event (none for a violation). */
export function approvalEventRow(ev: ApprovalEvent, request: ApprovalRequest | undefined): Record<string, unknown> {
  const d = ev.data ?? {};
  const { request: _snapshot, ...rest } = d;
  const r = request;
  const ctx = r?.context ?? (d.context && typeof d.context === 'object' ? (d.context as Record<string, unknown>) : {});
  const context: Record<string, string> = {};
  for (const [k, v] of Object.entries(ctx)) context[k] = str(v);
  return {
    Timestamp: ts(ev.at),
    Seq: ev.seq,
    Type: ev.type,
    ApprovalId: ev.approvalId,
    State: r?.state ?? '',
    Policy: r?.policy.policy ?? str(d.policy),
    Rule: r?.policy.rule ?? str(d.rule),
    Action: r?.action ?? str(d.action),
    Resource: r?.resource ?? str(d.resource),
    Requester: r?.requester ?? str(d.requester),
    Agent: r?.agent ?? str(d.agent),
    ActorId: ev.actor?.id ?? '',
    ActorName: ev.actor?.name ?? '',
    ActorVia: ev.actor?.via ?? '',
    ActorGroups: ev.actor?.groups ?? [],
    Channel: ev.channel ?? '',
    Comment: ev.comment ?? '',
    Reason: str(d.reason ?? d.detail),
    Context: context,
    ActionHash: r?.actionHash ?? str(d.actionHash),
    CreatedAt: ts(r?.createdAt ?? ev.at),
    ExpiresAt: ts(r?.expiresAt ?? 0),
    MinApprovals: r?.policy.minApprovals ?? 0,
    ApprovalCount: r?.approvals.length ?? 0,
    TraceId: r?.traceId ?? str(d.traceId),
    SpanId: r?.spanId ?? str(d.spanId),
    Data: canonicalJson(rest),
    Record: canonicalJson(ev),
    PrevHash: ev.prevHash,
    Hash: ev.hash,
  };
}

export interface ApprovalEventStoreOptions {
  clickhouse: ClickHouseHandle;
  engine: Pick<ApprovalEngine, 'onEvent'>;
  log: ApprovalLog;
  logger: Logger;
  database?: string;
  batchSize?: number;
  flushIntervalMs?: number;
  maxRetryIntervalMs?: number;
  /**
   * The log is shared by replicas (Kafka), where Seq counts per partition:
   * each replica copies the events it commits, in commit order, and there is
   * no catch-up by Seq (the topic itself stays the complete trail).
   */
  shared?: boolean;
}

interface Item {
  event: ApprovalEvent;
  request: ApprovalRequest | undefined;
}

/** Copies approval events into ClickHouse in small batches, in Seq order, catching up from the log when behind. */
export class ApprovalEventStore {
  private buffer: Item[] = [];
  private exportedSeq = 0;
  private caughtUp = false;
  private stopped = false;
  private unsubscribe?: () => void;
  private timer?: NodeJS.Timeout;
  private running?: Promise<void>;
  private idleWaiters: Array<() => void> = [];
  private wake?: () => void;
  private readonly table: string;

  constructor(private readonly opts: ApprovalEventStoreOptions) {
    this.table = qualify(opts.database, EVENTS_TABLE);
  }

  /** Subscribes, then creates the tables and catches up in the background; never blocks on ClickHouse. */
  start(): void {
    // Subscribe before reading the log, so an event is either read or buffered (or both: Seq dedupes).
    // Every record, including one that lost a race: the copy must match the log.
    this.unsubscribe = this.opts.engine.onEvent(
      (event, request) => {
        this.buffer.push({ event, request });
        this.schedule();
      },
      { all: true },
    );
    this.kick();
  }

  /** Seq of the last event ClickHouse acknowledged. */
  exported(): number {
    return this.exportedSeq;
  }

  /** Resolves once every event seen so far is in ClickHouse (for tests and orderly shutdown). */
  flush(): Promise<void> {
    if (this.idle()) return Promise.resolve();
    clearTimeout(this.timer);
    this.kick();
    return new Promise((resolve) => this.idleWaiters.push(resolve));
  }

  async stop(): Promise<void> {
    this.stopped = true;
    this.unsubscribe?.();
    clearTimeout(this.timer);
    this.wake?.();
    await this.running;
    for (const w of this.idleWaiters.splice(0)) w();
  }

  private idle(): boolean {
    if (this.opts.shared) return this.caughtUp && this.buffer.length === 0;
    return this.caughtUp && this.buffer.every((i) => i.event.seq <= this.exportedSeq);
  }

  private schedule(): void {
    if (this.stopped || this.timer || this.running) return;
    const full = this.buffer.length >= (this.opts.batchSize ?? 500);
    this.timer = setTimeout(
      () => {
        this.timer = undefined;
        this.kick();
      },
      full ? 0 : (this.opts.flushIntervalMs ?? 200),
    );
    this.timer.unref();
  }

  private kick(): void {
    if (this.running || this.stopped) return;
    this.running = this.run().finally(() => {
      this.running = undefined;
      if (this.idle()) for (const w of this.idleWaiters.splice(0)) w();
      else if (!this.stopped) this.schedule();
    });
  }

  private async run(): Promise<void> {
    let backoff = 200;
    while (!this.stopped) {
      try {
        if (!this.caughtUp) await this.catchUp();
        await this.drainBuffer();
        return;
      } catch (err) {
        this.opts.logger.warn({ err: (err as Error).message, exportedSeq: this.exportedSeq, retryInMs: backoff }, 'approval events not yet in ClickHouse; retrying (they are safe in the journal)');
        await new Promise<void>((r) => {
          const t = setTimeout(r, backoff);
          this.wake = () => {
            clearTimeout(t);
            r();
          };
        });
        this.wake = undefined;
        backoff = Math.min(backoff * 2, this.opts.maxRetryIntervalMs ?? 30_000);
      }
    }
  }

  private async catchUp(): Promise<void> {
    for (const sql of approvalStoreDdl(this.opts.database)) await this.opts.clickhouse.command(sql);
    if (this.opts.shared) {
      this.caughtUp = true;
      return;
    }
    const [row] = await this.opts.clickhouse.queryJson<{ seq: string | number }>(`SELECT max(Seq) AS seq FROM ${this.table}`);
    this.exportedSeq = Math.max(this.exportedSeq, Number(row?.seq ?? 0));
    // Replaying the whole log rebuilds each request's state as of every event, for the row's columns.
    const state = emptyState();
    let batch: Item[] = [];
    for await (const event of this.opts.log.readAll()) {
      const { request } = applyEvent(state, event);
      if (event.seq <= this.exportedSeq) continue;
      batch.push({ event, request: request && structuredClone(request) });
      if (batch.length >= (this.opts.batchSize ?? 500)) {
        await this.insert(batch);
        batch = [];
      }
    }
    if (batch.length) await this.insert(batch);
    this.caughtUp = true;
  }

  private async drainBuffer(): Promise<void> {
    while (this.opts.shared && this.buffer.length > 0) {
      const batch = this.buffer.slice(0, this.opts.batchSize ?? 500);
      await this.insert(batch);
      this.buffer = this.buffer.slice(batch.length);
    }
    for (;;) {
      this.buffer = this.buffer.filter((i) => i.event.seq > this.exportedSeq);
      if (this.buffer.length === 0) return;
      this.buffer.sort((a, b) => a.event.seq - b.event.seq);
      if ((this.buffer[0] as Item).event.seq !== this.exportedSeq + 1) {
        // Something was missed (a listener gap): the log has it.
        this.caughtUp = false;
        await this.catchUp();
        continue;
      }
      const n = Math.min(this.buffer.length, this.opts.batchSize ?? 500);
      let end = 1;
      while (end < n && (this.buffer[end] as Item).event.seq === (this.buffer[end - 1] as Item).event.seq + 1) end++;
      await this.insert(this.buffer.slice(0, end));
    }
  }

  private async insert(items: Item[]): Promise<void> {
    const body = items.map((i) => JSON.stringify(approvalEventRow(i.event, i.request))).join('\n') + '\n';
    await this.opts.clickhouse.insert(EVENTS_TABLE, Buffer.from(body, 'utf8'), this.opts.database ? { database: this.opts.database } : undefined);
    this.exportedSeq = (items[items.length - 1] as Item).event.seq;
  }
}
