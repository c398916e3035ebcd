// `sluice audit verify`: exit codes and messages, on the journal (as a real
// command in a child process) and on the ClickHouse copy (chDB).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { createClient } from '@clickhouse/client';
import { createChdbConnection } from 'chdb/connection';
import { pino } from 'pino';
import { journalPath, openJournal } from '../../approvals/log/journal.js';
import { ApprovalEventStore } from '../../approvals/store/clickhouse.js';
import type { ApprovalEngine, ApprovalEvent } from '../../approvals/types.js';
import { runAuditVerify } from '../../cli/commands/audit.js';

const logger = pino({ level: 'silent' });
const root = fileURLToPath(new URL('../../', import.meta.url));
const auditModule = new URL('../../cli/commands/audit.ts', import.meta.url).href;

/** Runs `sluice audit verify ...args` through commander in a child process. */
function cli(args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  const script = `import { Command } from 'commander'; import { registerAuditCommand } from ${JSON.stringify(auditModule)};
const p = new Command('sluice'); registerAuditCommand(p); await p.parseAsync(['node', 'sluice', ...JSON.parse(process.argv[1])]);`;
  return new Promise((resolve) => {
    execFile(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', script, JSON.stringify(args)], { cwd: root, timeout: 60_000 }, (err, stdout, stderr) => {
      resolve({ code: err ? ((err as { code?: number }).code ?? -1) : 0, stdout, stderr });
    });
  });
}

async function journalWith(dir: string, n: number): Promise<ApprovalEvent[]> {
  const log = await openJournal({ dir: join(dir, 'approvals'), logger });
  const evs: ApprovalEvent[] = [];
  for (let i = 1; i <= n; i++) evs.push(await log.append({ at: i, type: i % 2 ? 'opened' : 'denied', approvalId: `r${Math.ceil(i / 2)}`, comment: `comment ${i}` }));
  await log.close();
  return evs;
}

test('sluice audit verify --data: 0 and the head when intact, 1 naming the record when tampered, 2 without a journal', { timeout: 120_000 }, async () => {
  const dir = await mkdtemp(join(tmpdir(), 'sluice-audit-'));
  try {
    const evs = await journalWith(dir, 5);
    const ok = await cli(['audit', 'verify', '--data', dir]);
    assert.equal(ok.code, 0, ok.stderr);
    assert.match(ok.stdout, new RegExp(`ok: 5 records, head ${evs[4]?.hash}`));

    const file = journalPath(join(dir, 'approvals'));
    const lines = (await readFile(file, 'utf8')).split('\n').filter(Boolean);
    await writeFile(file, lines.map((l, i) => (i === 2 ? l.replace('comment 3', 'comment 3 (approved)') : l)).join('\n') + '\n');
    const bad = await cli(['audit', 'verify', '--data', dir]);
    assert.equal(bad.code, 1);
    assert.match(bad.stderr, /record seq 3: altered/);

    // the same walk in-process, for the other kinds of tampering
    const io = () => {
      const out: string[] = [];
      return { out, io: { out: (l: string) => out.push(l), err: (l: string) => out.push(l) } };
    };
    await writeFile(file, lines.filter((_, i) => i !== 1).join('\n') + '\n');
    let o = io();
    assert.equal(await runAuditVerify({ data: dir }, o.io), 1);
    assert.match(o.out.join('\n'), /record seq 2: missing/);
    await writeFile(file, [lines[0], lines[3], lines[2], lines[1], lines[4]].join('\n') + '\n');
    o = io();
    assert.equal(await runAuditVerify({ data: dir }, o.io), 1);
    assert.match(o.out.join('\n'), /record seq 4: out of order/);

    const none = await cli(['audit', 'verify', '--data', join(dir, 'nowhere')]);
    assert.equal(none.code, 2);
    assert.match(none.stderr, /no approval journal here/);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});

test('sluice audit verify --clickhouse: an edited column or a deleted row is named; a journal cut shorter than ClickHouse is caught', { timeout: 120_000 }, async () => {
  const dir = await mkdtemp(join(tmpdir(), 'sluice-audit-ch-'));
  const chPath = join(dir, 'chdb');
  try {
    const evs = await journalWith(dir, 6);
    const log = await openJournal({ dir: join(dir, 'approvals'), logger });
    const client = createClient({ connection: createChdbConnection({ path: chPath }) as never });
    const handle = {
      insert: async (table: string, ndjson: Buffer) => client.insert({ table, values: ndjson.toString().split('\n').filter(Boolean).map((l) => JSON.parse(l) as object), format: 'JSONEachRow' }).then(() => undefined),
      command: async (sql: string) => client.command({ query: sql }).then(() => undefined),
      queryJson: async <T,>(sql: string) => (await client.query({ query: sql, format: 'JSONEachRow' })).json<T>(),
    };
    const noEngine: Pick<ApprovalEngine, 'onEvent'> = { onEvent: () => () => {} };
    const store = new ApprovalEventStore({ clickhouse: handle, engine: noEngine, log, logger });
    store.start();
    await store.flush();
    await store.stop();
    await log.close();

    const run = async (opts: Parameters<typeof runAuditVerify>[0]) => {
      const out: string[] = [];
      const code = await runAuditVerify(opts, { out: (l) => out.push(l), err: (l) => out.push(l) });
      return { code, text: out.join('\n') };
    };
    let r = await run({ clickhouse: `embedded:${chPath}` });
    assert.equal(r.code, 0, r.text);
    assert.match(r.text, new RegExp(`ok: 6 records, head ${evs[5]?.hash}`));

    // A journal missing its last record, while ClickHouse still has it.
    const file = journalPath(join(dir, 'approvals'));
    const lines = (await readFile(file, 'utf8')).split('\n').filter(Boolean);
    await writeFile(file, lines.slice(0, 5).join('\n') + '\n');
    r = await run({ data: dir, clickhouse: `embedded:${chPath}` });
    assert.equal(r.code, 1);
    assert.match(r.text, /record seq 6: missing \(ClickHouse holds records up to seq 6/);

    await client.command({ query: `ALTER TABLE sluice_approval_events UPDATE Comment = 'rubber-stamped' WHERE Seq = 4 SETTINGS mutations_sync = 1` });
    r = await run({ clickhouse: `embedded:${chPath}` });
    assert.equal(r.code, 1);
    assert.match(r.text, /record seq 4: altered/);

    await client.command({ query: `ALTER TABLE sluice_approval_events DELETE WHERE Seq >= 4 AND Seq <= 5 SETTINGS mutations_sync = 1` });
    r = await run({ clickhouse: `embedded:${chPath}` });
    assert.equal(r.code, 1);
    assert.match(r.text, /record seq 4: missing \(seq 3 is followed by seq 6\)/);
    await client.close();
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});
