// An in-memory engine spools its insert files in a temporary directory of its
// own; one killed with kill -9 cannot remove it, so the next one removes the
// spools of processes that are gone (one engine per process: its own file).
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { openClickHouse } from '../../exporters/clickhouse/store.js';

test('an in-memory engine removes the temporary spools of processes that are gone, and no other', async () => {
  const tmp = mkdtempSync(join(tmpdir(), 'sluice-tmp-'));
  const gone = spawnSync(process.execPath, ['-e', '']).pid;
  const spools = {
    gone: `sluice-insert-${gone}-AbC123`,
    live: `sluice-insert-${process.ppid}-XyZ789`,
    older: 'sluice-insert-Qw3rty',
    other: 'unrelated',
  };
  for (const d of Object.values(spools)) {
    mkdirSync(join(tmp, d));
    writeFileSync(join(tmp, d, '1-0.tabseparated'), 'rows\n');
  }
  const saved = process.env.TMPDIR;
  process.env.TMPDIR = tmp; // the store worker copies the environment when it starts
  const mem = openClickHouse({ endpoint: 'embedded::memory:' });
  try {
    await mem.command('CREATE TABLE t (a String) ENGINE = MergeTree ORDER BY a');
    await mem.insert('t', Buffer.from('x\n'), { format: 'TabSeparated', columns: ['a'] });
    // chDB and tsx keep temporary files of their own there too.
    const left = readdirSync(tmp).filter((d) => d.startsWith('sluice-') || d === spools.other).sort();
    const own = left.filter((d) => d.startsWith(`sluice-insert-${process.pid}-`));
    assert.equal(own.length, 1, `this process's spool is there: ${left.join(', ')}`);
    assert.deepEqual(left.filter((d) => !own.includes(d)), [spools.older, spools.live, spools.other].sort());
    assert.equal(Number((await mem.queryJson<{ n: number | string }>('SELECT count() AS n FROM t'))[0]!.n), 1);
  } finally {
    await mem.close();
    if (saved === undefined) delete process.env.TMPDIR;
    else process.env.TMPDIR = saved;
  }
  assert.deepEqual(readdirSync(tmp).filter((d) => d.startsWith(`sluice-insert-${process.pid}-`)), [], 'closed: its own spool is gone too');
  rmSync(tmp, { recursive: true, force: true });
});
