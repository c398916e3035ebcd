// How the embedded engine is handed an insert body, measured in process CPU
// per agent span (all engine threads): inline, as chDB's rawInsert passes it
// (what the store did until 2026-12-03), against a file the engine reads
// (INSERT … FROM INFILE, what the store does now, file write included). The
// same 8,000-span TabSeparated bodies of bench/lib/agent-traffic.ts spans
// into the exporter's otel_traces table, emptied before each run; the
// paths take turns for --rounds rounds; medians count. Ends with one JSON line.
//   node --import tsx bench/clickhouse-insert-path.ts [--inserts=16] [--rounds=3]
import { mkdtempSync, rmSync } from 'node:fs';
import { unlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { schemaStatements } from '../exporters/clickhouse/schema.js';
import { EMBEDDED_ENGINE_ARGS, EMBEDDED_JEMALLOC_CONF } from '../exporters/clickhouse/store-backend.js';
import { TRACES_COLUMNS, tracesToTsv } from '../exporters/clickhouse/traces-tsv.js';
import { agentSpans } from './lib/agent-traffic.js';

const arg = (name: string, def: number) => Number(process.argv.find((a) => a.startsWith(`--${name}=`))?.split('=')[1] ?? def);
const INSERTS = arg('inserts', 16);
const ROUNDS = arg('rounds', 3);
const SPANS = 8000;

process.env.JE_MALLOC_CONF ??= EMBEDDED_JEMALLOC_CONF;
const { Session } = (await import('chdb')).default;
const dir = mkdtempSync(join(tmpdir(), 'sluice-insert-path-'));
const s = new Session(join(dir, 'ch'), { connectionArgs: [...EMBEDDED_ENGINE_ARGS] });
const options = { database: 'default', tracesTable: 'otel_traces', logsTable: 'otel_logs', ttlMs: 0, tableEngine: { name: 'MergeTree', params: '' }, clusterName: '' };
for (const sql of schemaStatements(options, { traces: true, logs: false })) s.query(sql);

const bodies: Buffer[] = [];
for (let b = 0; b < 4; b++) {
  const parts: Buffer[] = [];
  for (let r = 0; r < SPANS / 500; r++) parts.push(tracesToTsv(agentSpans({ seed: b, perRequest: 500 }, r)).body);
  bodies.push(Buffer.concat(parts));
}
const cols = TRACES_COLUMNS.map((c) => '`' + c + '`').join(', ');

const paths: Record<string, (body: Buffer, i: number) => Promise<unknown>> = {
  inline: (body) => s.insert({ table: 'otel_traces', columns: [...TRACES_COLUMNS], values: body, format: 'TSV' }),
  file: async (body, i) => {
    const f = join(dir, `${i}.tsv`);
    await writeFile(f, body);
    try {
      await s.queryAsync(`INSERT INTO otel_traces (${cols}) FROM INFILE '${f}' FORMAT TabSeparated`);
    } finally {
      await unlink(f);
    }
  },
};

const usPerSpan: Record<string, number[]> = { inline: [], file: [] };
for (let round = 0; round < ROUNDS; round++) {
  for (const name of round % 2 ? ['file', 'inline'] : ['inline', 'file']) {
    s.query('TRUNCATE TABLE otel_traces');
    const c0 = process.cpuUsage();
    for (let i = 0; i < INSERTS; i++) await paths[name]!(bodies[i % bodies.length]!, i);
    const c = process.cpuUsage(c0);
    usPerSpan[name]!.push((c.user + c.system) / (INSERTS * SPANS));
  }
}
const rows = Number(s.query('SELECT count() FROM otel_traces', 'TSV').trim());
if (rows !== INSERTS * SPANS) throw new Error(`expected ${INSERTS * SPANS} rows after the last run, found ${rows}`);
s.close();
rmSync(dir, { recursive: true, force: true });

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[xs.length >> 1]!;
const inline = median(usPerSpan.inline!);
const file = median(usPerSpan.file!);
for (const [k, xs] of Object.entries(usPerSpan)) process.stdout.write(`${k.padEnd(7)} ${median(xs).toFixed(1)} µs of CPU per span (runs: ${xs.map((x) => x.toFixed(1)).join(', ')}; ${INSERTS} inserts of ${SPANS} spans, ${(bodies[0]!.length / SPANS).toFixed(0)} bytes per row)\n`);
process.stdout.write(`file / inline CPU: ${(file / inline).toFixed(2)}\n`);
process.stdout.write(JSON.stringify({ bench: 'clickhouse-insert-path', inline_cpu_us_per_span: Number(inline.toFixed(1)), file_cpu_us_per_span: Number(file.toFixed(1)), file_vs_inline: Number((file / inline).toFixed(2)) }) + '\n');
