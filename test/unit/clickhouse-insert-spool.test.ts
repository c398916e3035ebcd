// Embedded inserts go through a file (INSERT … FROM INFILE): the rows land as
// sent, whatever the path and the data hold, and no file stays behind, after
// a good insert, after a refused one, or from a process that crashed.
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { openClickHouse } from '../../exporters/clickhouse/store.js';

// A quote and a backslash in the path: it is a SQL string literal.
const dir = mkdtempSync(join(tmpdir(), "sluice-spool-it's\\"));
const spool = join(dir, 'sluice_insert_spool');
mkdirSync(spool);
writeFileSync(join(spool, '4242-7.tabseparated'), 'left by a crashed process\n');
const ch = openClickHouse({ endpoint: `embedded:${dir}` });
after(async () => {
  await ch.close();
  rmSync(dir, { recursive: true, force: true });
});

test('embedded inserts land whole, and the spool is empty after each, good or refused', async () => {
  await ch.command('CREATE TABLE spooled (a String, b UInt32, m Map(String, String)) ENGINE = MergeTree ORDER BY a');
  const rows = "tab\\there\t1\t{'k':'v'}\nquote ' and \\\\ backslash\t2\t{}\n";
  await ch.insert('spooled', Buffer.from(rows), { format: 'TabSeparated', columns: ['a', 'b', 'm'] });
  await ch.insert('spooled', Buffer.from('{"a":"json","b":3,"m":{"x":"y"}}\n'));
  assert.deepEqual(readdirSync(spool), [], 'the leftover and the insert files are gone');

  const got = await ch.queryJson<{ a: string; b: number; m: Record<string, string> }>('SELECT a, b, m FROM spooled ORDER BY b');
  assert.deepEqual(got, [
    { a: 'tab\there', b: 1, m: { k: 'v' } },
    { a: "quote ' and \\ backslash", b: 2, m: {} },
    { a: 'json', b: 3, m: { x: 'y' } },
  ]);

  await assert.rejects(ch.insert('spooled', Buffer.from('x\tnot a number\t{}\n'), { format: 'TabSeparated', columns: ['a', 'b', 'm'] }), /Cannot parse|CANNOT_PARSE/);
  assert.deepEqual(readdirSync(spool), [], 'a refused insert leaves no file');
  assert.equal(Number((await ch.queryJson<{ n: number | string }>('SELECT count() AS n FROM spooled'))[0]!.n), 3);
});
