// `sluice audit verify`: walks the approval log's hash chain, from the journal
// file or from ClickHouse, and exits non-zero naming the first record that
// was altered, removed or reordered. With both sources it also checks that
// they end at the same record (a cut journal tail shows up there).
import type { Command } from 'commander';
import { createClient } from '@clickhouse/client';
import { access } from 'node:fs/promises';
import { join } from 'node:path';
import { readJournalLines } from '../../approvals/log/lines.js';
import { journalPath } from '../../approvals/log/journal.js';
import { verifyChain, type StoredRecord, type VerifyResult } from '../../approvals/log/verify.js';
import { EVENTS_TABLE } from '../../approvals/store/clickhouse.js';
import { kafkaApprovalLogSchema, verifyKafkaApprovalLog } from '../../approvals/log/kafka.js';
import { pino } from 'pino';
import type { ApprovalEvent } from '../../approvals/types.js';

export interface AuditVerifyOptions {
  /** Sluice data dir; the journal is `<data>/approvals/journal.jsonl`. */
  data?: string;
  /** `http(s)://host:8123` or `embedded:PATH` (a chDB data dir). */
  clickhouse?: string;
  database?: string;
  /** Comma-separated brokers of a Kafka approval log (approvals.log.type: kafka). */
  kafkaBrokers?: string;
  kafkaTopic?: string;
}

export interface AuditOutput {
  out: (line: string) => void;
  err: (line: string) => void;
}

/** 0: chain intact; 1: the chain is broken (the record is named); 2: could not read a source. */
export async function runAuditVerify(opts: AuditVerifyOptions, io: AuditOutput): Promise<number> {
  const sources: Array<{ name: string; read: () => Promise<VerifyResult> }> = [];
  // --data defaults to ./data only when no other source is named.
  const data = opts.data ?? (opts.clickhouse || opts.kafkaBrokers ? undefined : './data');
  if (data !== undefined) {
    const file = journalPath(join(data, 'approvals'));
    sources.push({
      name: `journal ${file}`,
      read: async () => {
        // An absent journal is a wrong path, not an empty (and so trivially intact) chain.
        await access(file).catch(() => {
          throw new Error('no approval journal here; pass the Sluice data dir (service.data_dir) with --data');
        });
        return verifyChain(readJournalLines(file));
      },
    });
  }
  if (opts.clickhouse) {
    const url = opts.clickhouse;
    sources.push({ name: `clickhouse ${url.startsWith('embedded:') ? url : redactUrl(url)}`, read: () => verifyClickHouse(url, opts.database) });
  }
  if (opts.kafkaBrokers) {
    const config = kafkaApprovalLogSchema.parse({ type: 'kafka', brokers: opts.kafkaBrokers, ...(opts.kafkaTopic ? { topic: opts.kafkaTopic } : {}) });
    sources.push({
      name: `kafka topic ${config.topic}`,
      read: async () => {
        // One chain per partition: the first broken partition is the answer.
        const parts = await verifyKafkaApprovalLog(config, pino({ level: 'silent' }));
        const bad = parts.find((p) => !p.result.ok);
        if (bad) return { ...bad.result, problem: bad.result.problem && { ...bad.result.problem, message: `partition ${bad.partition}: ${bad.result.problem.message}` } };
        return {
          ok: true,
          count: parts.reduce((n, p) => n + p.result.count, 0),
          headSeq: 0,
          headHash: parts.map((p) => `p${p.partition}:${p.result.headHash}`).join(' '),
        };
      },
    });
  }
  const results: Array<{ name: string; result: VerifyResult }> = [];
  for (const s of sources) {
    let result: VerifyResult;
    try {
      result = await s.read();
    } catch (err) {
      io.err(`${s.name}: cannot read (${(err as Error).message})`);
      return 2;
    }
    if (!result.ok) {
      io.err(`${s.name}: ${result.problem?.message ?? 'chain broken'}`);
      return 1;
    }
    io.out(`${s.name}: ok: ${result.count} records, head ${result.headHash}`);
    results.push({ name: s.name, result });
  }
  if (results.length === 2) {
    const [a, b] = results as [{ name: string; result: VerifyResult }, { name: string; result: VerifyResult }];
    if (a.result.headSeq > b.result.headSeq) {
      // The ClickHouse copy may lag the journal; that is not tampering.
      io.out(`note: ClickHouse is behind the journal (seq ${b.result.headSeq} of ${a.result.headSeq}); it catches up while Sluice runs`);
    } else if (a.result.headSeq < b.result.headSeq) {
      io.err(`${a.name}: record seq ${a.result.headSeq + 1}: missing (ClickHouse holds records up to seq ${b.result.headSeq}; the journal's tail was cut)`);
      return 1;
    }
  }
  return 0;
}

function redactUrl(url: string): string {
  try {
    const u = new URL(url);
    u.password = '';
    u.username = '';
    return u.toString();
  } catch {
    return '(invalid url)';
  }
}

interface EventRow {
  Seq: string | number;
  Type: string;
  ApprovalId: string;
  ActorId: string;
  Comment: string;
  PrevHash: string;
  Hash: string;
  Record: string;
}

async function verifyClickHouse(url: string, database?: string): Promise<VerifyResult> {
  let client;
  if (url.startsWith('embedded:')) {
    const { createChdbConnection } = await import('chdb/connection');
    client = createClient({ connection: createChdbConnection({ path: url.slice('embedded:'.length) }) as never, database });
  } else {
    client = createClient({ url, database });
  }
  try {
    const rs = await client.query({ query: `SELECT Seq, Type, ApprovalId, ActorId, Comment, PrevHash, Hash, Record FROM ${EVENTS_TABLE} ORDER BY Seq, Hash`, format: 'JSONEachRow' });
    const rows = await rs.json<EventRow>();
    return await verifyChain(rows.map(rowToStored), { allowDuplicates: true });
  } finally {
    await client.close();
  }
}

/**
 * The row's `Record` is the signed record; the columns are what dashboards
 * show. A column edited on its own is folded into the record, so it fails
 * the hash check like any other alteration.
 */
export function rowToStored(row: EventRow, i: number): StoredRecord {
  let rec: ApprovalEvent;
  try {
    rec = JSON.parse(row.Record) as ApprovalEvent;
  } catch {
    return { position: i + 1, error: `row with Seq ${String(row.Seq)} has an unreadable Record column` };
  }
  const out = { ...rec };
  if (Number(row.Seq) !== rec.seq) out.seq = Number(row.Seq);
  if (row.Type !== rec.type) out.type = row.Type as ApprovalEvent['type'];
  if (row.ApprovalId !== rec.approvalId) out.approvalId = row.ApprovalId;
  if (row.Comment !== (rec.comment ?? '')) out.comment = row.Comment;
  if (row.ActorId !== (rec.actor?.id ?? '')) out.actor = { ...(rec.actor ?? { groups: [], via: 'dev' }), id: row.ActorId };
  if (row.PrevHash !== rec.prevHash) out.prevHash = row.PrevHash;
  if (row.Hash !== rec.hash) out.hash = row.Hash;
  return { position: i + 1, record: out };
}

export function registerAuditCommand(program: Command): void {
  const audit = program.command('audit').description('check the approval audit trail');
  audit
    .command('verify')
    .description('walk the approval log hash chain; exit 0 if intact, 1 naming the first altered, missing or reordered record, 2 if a source cannot be read')
    .option('--data <dir>', 'Sluice data dir holding approvals/journal.jsonl (default ./data when neither --clickhouse nor --kafka-brokers is given)')
    .option('--clickhouse <url>', 'verify sluice_approval_events in ClickHouse: http://host:8123 or embedded:PATH (chDB)')
    .option('--database <db>', 'ClickHouse database of sluice_approval_events')
    .option('--kafka-brokers <list>', 'verify a Kafka approval log (approvals.log.type: kafka): comma-separated brokers')
    .option('--kafka-topic <topic>', 'topic of the Kafka approval log (default sluice_approvals)')
    .action(async (opts: AuditVerifyOptions) => {
      const code = await runAuditVerify(opts, { out: (l) => process.stdout.write(l + '\n'), err: (l) => process.stderr.write(l + '\n') });
      process.exitCode = code;
    });
}
