// The embedded engine's allocator options: chDB's jemalloc reads
// JE_MALLOC_CONF once, when the addon loads, so each case runs in a fresh
// process that opens the embedded store and asks the engine what it got.
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { test } from 'node:test';
import { promisify } from 'node:util';

const run = promisify(execFile);

const probe = `
import { openClickHouse } from './exporters/clickhouse/store.ts';
const ch = openClickHouse({ endpoint: 'embedded::memory:' });
const r = await ch.query('SELECT * FROM system.jemalloc_stats', { format: 'TSVRaw' });
const text = Buffer.from(r.body).toString('utf8');
const pick = (name) => text.match(new RegExp('opt\\\\.' + name + ': "?([a-z0-9]+)'))?.[1];
console.log(JSON.stringify({ narenas: pick('narenas'), percpu: pick('percpu_arena') }));
await ch.close();
`;

async function engineArenas(env: Record<string, string | undefined>): Promise<{ narenas?: string; percpu?: string }> {
  const childEnv = { ...process.env, ...env };
  for (const [k, v] of Object.entries(env)) if (v === undefined) delete childEnv[k];
  const { stdout } = await run(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', probe], { env: childEnv, cwd: new URL('../..', import.meta.url).pathname });
  return JSON.parse(stdout.trim().split('\n').pop()!) as { narenas?: string; percpu?: string };
}

test('the embedded engine runs jemalloc with one arena, not one per CPU', async () => {
  assert.deepEqual(await engineArenas({ JE_MALLOC_CONF: undefined }), { narenas: '1', percpu: 'disabled' });
});

test("an operator's own JE_MALLOC_CONF wins", async () => {
  assert.deepEqual(await engineArenas({ JE_MALLOC_CONF: 'narenas:3' }), { narenas: '3', percpu: 'percpu' });
});
