// The `sluice` command as an operator uses it: help, validate, and a start
// (under tuned node flags) that drains its queue into ClickHouse on SIGTERM
// and exits 0.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, writeFile } from 'node:fs/promises';
import { createServer } from 'node:net';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createClient } from '@clickhouse/client';
import { createChdbConnection } from 'chdb/connection';
import { packagePath } from '../../config/paths.js';
import { runCli, startCli } from '../helpers/cli.js';

/**
 * A config file in `dir`: one OTLP/HTTP receiver (port `http`, 0 = free), one
 * traces pipeline, the admin port and the API on free ports, state in `dir`.
 */
async function writeConfig(
  dir: string,
  name: string,
  o: { http?: number; processors?: Record<string, string>; exporters: Record<string, string>; approvals?: boolean; service?: string },
): Promise<string> {
  const file = join(dir, `${name}.yaml`);
  const section = (items: Record<string, string>) => Object.entries(items).map(([id, c]) => `  ${id}: ${c}`).join('\n');
  const ids = (items: Record<string, string> = {}) => Object.keys(items).join(', ');
  await writeFile(
    file,
    `receivers:
  otlp:
    protocols:
      http: { endpoint: "127.0.0.1:${o.http ?? 0}" }
${o.processors ? `processors:\n${section(o.processors)}\n` : ''}exporters:
${section(o.exporters)}
${o.approvals ? `approvals:\n  policy_file: "${packagePath('config', 'policies', 'example.yaml')}"\n` : ''}service:
  data_dir: "${dir}"
${o.service ?? ''}  telemetry: { admin: { endpoint: "127.0.0.1:0" } }
  api: { endpoint: "127.0.0.1:0" }
  pipelines:
    traces: { receivers: [otlp], processors: [${ids(o.processors)}], exporters: [${ids(o.exporters)}] }
`,
  );
  return file;
}

test('every command has --help', async () => {
  for (const args of [['--help'], ['start', '--help'], ['validate', '--help'], ['redact', '--help'], ['audit', '--help']]) {
    const r = await runCli(args);
    assert.equal(r.code, 0, `${args.join(' ')}: ${r.stderr}`);
    assert.match(r.stdout, /Usage: sluice/);
  }
});

test('validate accepts the shipped config and refuses a bad one with paths, exit 2', async () => {
  const ok = await runCli(['validate', '--config', 'config/sluice.yaml']);
  assert.equal(ok.code, 0, ok.stderr);
  assert.match(ok.stdout, /valid/);
  const dir = await mkdtemp(join(tmpdir(), 'sluice-cli-'));
  const bad = join(dir, 'bad.yaml');
  await writeFile(bad, 'receivers:\n  otlp:\n    protocols:\n      http:\n        endpoint: nowhere\nexporters:\n  debug: {}\nservice:\n  pipelines:\n    traces: { receivers: [otlp], exporters: [debugg] }\n');
  const r = await runCli(['validate', '--config', bad]);
  assert.equal(r.code, 2);
  assert.match(r.stderr, /receivers\.otlp\.protocols\.http\.endpoint: "nowhere" is not host:port/);
  assert.match(r.stderr, /service\.pipelines\.traces\.exporters\.0: "debugg" is not defined under exporters/);
});

test('start refuses a bad config before listening, with the path of the problem', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'sluice-cli-'));
  const bad = join(dir, 'bad.yaml');
  await writeFile(bad, 'receivers: {}\nservice:\n  pipelines: {}\n');
  const r = await runCli(['start', '--config', bad]);
  assert.equal(r.code, 2);
  assert.match(r.stderr, /service\.pipelines: define at least one pipeline/);
});

test('start that cannot listen exits 1 with the reason on one line, not a stack trace', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'sluice-cli-'));
  const taken = createServer();
  await new Promise<void>((r) => taken.listen(0, '127.0.0.1', r));
  const port = (taken.address() as AddressInfo).port;
  const config = await writeConfig(dir, 'sluice', { http: port, exporters: { debug: '{}' } });
  try {
    const r = await runCli(['start', '--config', config]);
    assert.equal(r.code, 1);
    assert.match(r.stderr, new RegExp(`^sluice: cannot start: the OTLP/HTTP receiver otlp cannot listen on 127\\.0\\.0\\.1:${port}: the port is in use; set receivers\\.otlp\\.protocols\\.http\\.endpoint to another host:port$`, 'm'));
    assert.doesNotMatch(r.stderr, /^\s+at /m, 'no stack trace');
  } finally {
    taken.close();
  }
});

test('a second sluice on the same data directory exits 1 naming the process that holds it (approval journal, embedded ClickHouse)', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'sluice-cli-'));
  const ch = { clickhouse: `{ endpoint: "embedded:${join(dir, 'ch')}", query_endpoint: "" }` };
  const config = (name: string, approvals: boolean) => writeConfig(dir, name, { exporters: ch, approvals });
  const first = await startCli(['--config', await config('first', true)]);
  try {
    const journal = await runCli(['start', '--config', await config('second', true)]);
    assert.equal(journal.code, 1);
    assert.match(journal.stderr, new RegExp(`^sluice: cannot start: approval journal directory .* is in use by process ${first.child.pid}; one Sluice process per data directory`, 'm'));
    // Without approvals it gets as far as the embedded engine, which chDB only calls a failed connection.
    const engine = await runCli(['start', '--config', await config('third', false)]);
    assert.equal(engine.code, 1);
    assert.match(engine.stderr, new RegExp(`^sluice: cannot start: the embedded ClickHouse data directory .*ch is in use by process ${first.child.pid}; one Sluice process per data directory`, 'm'));
  } finally {
    first.child.kill('SIGTERM');
    assert.equal(await first.exited, 0);
  }
});

test('SIGTERM drains the queue into ClickHouse and exits 0, with node tuned by V8 flags as operators do', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'sluice-cli-'));
  const config = await writeConfig(dir, 'sluice', {
    processors: { batch: '{ timeout: 60s, send_batch_size: 100000 }' },
    exporters: { clickhouse: `{ endpoint: "embedded:${join(dir, 'ch')}", query_endpoint: "" }` },
    service: '  shutdown_timeout: 20s\n',
  });
  // V8 flags on node's command line: the store worker once got them as
  // execArgv, refused to start, and no row was ever written.
  const sluice = await startCli(['--config', config], {}, ['--max-old-space-size=2048', '--max-semi-space-size=16']);
  const spans = Array.from({ length: 50 }, (_, i) => ({
    traceId: '5b8efff798038103d269b633813fc60c',
    spanId: (i + 1).toString(16).padStart(16, '0'),
    name: 'drain-me',
    startTimeUnixNano: '1700000000000000000',
    endTimeUnixNano: '1700000000000001000',
  }));
  const res = await fetch(`http://127.0.0.1:${sluice.ports.http}/v1/traces`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ resourceSpans: [{ resource: { attributes: [{ key: 'service.name', value: { stringValue: 'drain' } }] }, scopeSpans: [{ spans }] }] }),
  });
  assert.equal(res.status, 200);
  // The batch timeout is a minute: the spans are still queued when SIGTERM arrives.
  sluice.child.kill('SIGTERM');
  assert.equal(await sluice.exited, 0);
  assert.ok(sluice.logs.some((l) => l.msg === 'sluice stopped'));
  const ch = createClient({ connection: createChdbConnection({ path: join(dir, 'ch') }) } as never);
  const rows = await (await ch.query({ query: "SELECT count() AS n FROM otel_traces WHERE SpanName = 'drain-me'", format: 'JSONEachRow' })).json<{ n: string }>();
  assert.equal(Number(rows[0]!.n), 50);
  await ch.close();
});
