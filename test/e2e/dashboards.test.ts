// The Grafana dashboards cannot drift from the schema: every panel's SQL (and
// every template variable's query) in deploy/grafana/dashboards/*.json is
// expanded the way Grafana and the ClickHouse datasource plugin expand it,
// then run on the embedded engine's read-only ClickHouse port against data
// Sluice itself wrote: spans and logs sent by the OpenTelemetry SDK over OTLP,
// redacted by the pipeline, privileged actions opened, decided, expired and
// executed through the real approvals engine.
//
// Expansion, in the plugin's order:
//   1. frontend: $__conditionalAll(cond, $var) → cond, or 1=1 when $var is All
//      (CHDatasource.applyConditionalAll);
//   2. frontend: Grafana's template variables, ${var:singlequote},
//      ${var:sqlstring}, ${var}, $var (an All selection expands to every option);
//   3. backend (pkg/macros): $__timeFilter(c) → c >= toDateTime(from) AND c <= toDateTime(to),
//      $__fromTime / $__toTime → toDateTime(s), $__timeInterval(c) →
//      toStartOfInterval(toDateTime(c), INTERVAL n second), $__interval_s → n, …
// A macro or variable this file does not know fails the test, so a typo in a
// dashboard cannot pass.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createHash } from 'node:crypto';
import { parse as parseYaml } from 'yaml';
import { createClient, type ClickHouseClient } from '@clickhouse/client';
import { context, SpanKind, SpanStatusCode, trace, type Tracer } from '@opentelemetry/api';
import { SeverityNumber } from '@opentelemetry/api-logs';
import { resourceFromAttributes } from '@opentelemetry/resources';
import { BasicTracerProvider, SimpleSpanProcessor } from '@opentelemetry/sdk-trace-base';
import { LoggerProvider, SimpleLogRecordProcessor } from '@opentelemetry/sdk-logs';
import { OTLPTraceExporter } from '@opentelemetry/exporter-trace-otlp-proto';
import { OTLPLogExporter } from '@opentelemetry/exporter-logs-otlp-proto';
import { ApprovalAttr, type ApprovalEvent, type ApprovalRequest, type Identity } from '../../approvals/types.js';
import { approvalEventRow, approvalStoreDdl } from '../../approvals/store/clickhouse.js';
import { openClickHouse } from '../../exporters/clickhouse/store.js';
import { startTestService, type TestService } from '../helpers/service.js';

const REPO = new URL('../../', import.meta.url).pathname;
const DASHBOARD_DIR = join(REPO, 'deploy/grafana/dashboards');
const DATASOURCE_UID = 'sluice-clickhouse';

// ---------------------------------------------------------------------------
// Grafana + ClickHouse plugin expansion

interface Target {
  rawSql: string;
  format: number;
  queryType: string;
  editorType: string;
  datasource: { type: string; uid: string };
}
interface Panel {
  id: number;
  type: string;
  title: string;
  targets?: Target[];
  datasource?: { type: string; uid: string };
}
interface Variable {
  type: 'query' | 'custom' | 'textbox';
  name: string;
  query: string;
  includeAll?: boolean;
  multi?: boolean;
  datasource?: { type: string; uid: string };
}
interface Dashboard {
  uid: string;
  title: string;
  panels: Panel[];
  templating: { list: Variable[] };
}

/** The selection of each variable: `all` or concrete values. */
type Selection = Map<string, { all: true } | { all: false; values: string[] }>;

interface Expansion {
  selection: Selection;
  /** Every option of each variable (what an All selection expands to). */
  options: Map<string, string[]>;
  fromS: number;
  toS: number;
  intervalS: number;
}

/** Port of the plugin's getMacroArgs: the arguments of the call whose "(" is at argsIndex. */
function macroArgs(query: string, argsIndex: number): string[] {
  const args: string[] = [];
  const re = /\(|\)|,/g;
  let depth = 0;
  let last = 1;
  const s = query.substring(argsIndex);
  for (let m = re.exec(s); m; m = re.exec(s)) {
    if (m[0] === '(') depth++;
    else if (m[0] === ')') depth--;
    if (m[0] === ',' && depth === 1) {
      args.push(s.substring(last, re.lastIndex - 1));
      last = re.lastIndex;
    }
    if (depth === 0) {
      args.push(s.substring(last, re.lastIndex - 1));
      return args;
    }
  }
  return [];
}

function applyConditionalAll(sql: string, x: Expansion): string {
  const macro = '$__conditionalAll(';
  for (let i = sql.lastIndexOf(macro); i !== -1; i = sql.lastIndexOf(macro)) {
    const params = macroArgs(sql, i + macro.length - 1);
    if (params.length !== 2) throw new Error(`$__conditionalAll needs 2 arguments at: ${sql.slice(i, i + 80)}`);
    const name = /(?<=\$\{)\w+(?=\})|(?<=\$)\w+/.exec(params[1]!.trim())?.[0];
    const sel = name ? x.selection.get(name) : undefined;
    if (!sel) throw new Error(`$__conditionalAll names an unknown variable: ${params[1]}`);
    const empty = sel.all || sel.values.length === 0 || (sel.values.length === 1 && sel.values[0] === '');
    sql = sql.slice(0, i) + (empty ? '1=1' : params[0]) + sql.slice(i + macro.length + params[0]!.length + 1 + params[1]!.length + 1);
  }
  return sql;
}

function formatValues(values: string[], format: string | undefined, name: string): string {
  switch (format) {
    case 'singlequote':
      return values.map((v) => `'${v.replace(/'/g, "\\'")}'`).join(',');
    case 'sqlstring':
      return values.map((v) => `'${v.replace(/'/g, "''")}'`).join(',');
    case 'doublequote':
      return values.map((v) => `"${v.replace(/"/g, '\\"')}"`).join(',');
    case undefined:
    case 'raw':
    case 'csv':
      return values.join(',');
    default:
      throw new Error(`variable ${name}: format ${format} is not expanded by this test; add it`);
  }
}

/** Grafana's template variable syntaxes: $var, [[var]], [[var:fmt]], ${var}, ${var:fmt}. */
const VARIABLE = /\$(\w+)|\[\[(\w+?)(?::(\w+))?\]\]|\$\{(\w+)(?:\.[^:^}]+)?(?::([^}]+))?\}/g;

function interpolate(sql: string, x: Expansion): string {
  return sql.replace(VARIABLE, (match, n1: string, n2: string, f2: string, n3: string, f3: string) => {
    const name = n1 ?? n2 ?? n3;
    if (name.startsWith('__')) return match; // macros of the datasource (backend) and Grafana built-ins
    const sel = x.selection.get(name);
    if (!sel) throw new Error(`unknown template variable $${name}`);
    const values = sel.all ? (x.options.get(name) ?? []) : sel.values;
    return formatValues(values, f2 ?? f3, name);
  });
}

function applyBackendMacros(sql: string, x: Expansion): string {
  const fromDt = `toDateTime(${x.fromS})`;
  const toDt = `toDateTime(${x.toS})`;
  const one = (name: string, args: string[]) => {
    if (args.length !== 1) throw new Error(`$__${name} takes 1 argument, got ${args.length}`);
    return args[0]!.trim();
  };
  const macros: Record<string, (args: string[]) => string> = {
    fromTime: () => fromDt,
    toTime: () => toDt,
    fromTime_ms: () => `fromUnixTimestamp64Milli(${x.fromS * 1000})`,
    toTime_ms: () => `fromUnixTimestamp64Milli(${x.toS * 1000})`,
    timeFilter: (a) => `${one('timeFilter', a)} >= ${fromDt} AND ${one('timeFilter', a)} <= ${toDt}`,
    timeFilter_ms: (a) => `${one('timeFilter_ms', a)} >= fromUnixTimestamp64Milli(${x.fromS * 1000}) AND ${one('timeFilter_ms', a)} <= fromUnixTimestamp64Milli(${x.toS * 1000})`,
    dateFilter: (a) => `${one('dateFilter', a)} >= toDate(${fromDt}) AND ${one('dateFilter', a)} <= toDate(${toDt})`,
    timeInterval: (a) => `toStartOfInterval(toDateTime(${one('timeInterval', a)}), INTERVAL ${x.intervalS} second)`,
    timeInterval_ms: (a) => `toStartOfInterval(toDateTime64(${one('timeInterval_ms', a)}, 3), INTERVAL ${x.intervalS * 1000} millisecond)`,
    interval_s: () => String(x.intervalS),
  };
  let out = '';
  let rest = sql;
  for (let m = /\$__(\w+)/.exec(rest); m; m = /\$__(\w+)/.exec(rest)) {
    const name = m[1]!;
    const fn = macros[name];
    if (!fn) throw new Error(`unknown macro $__${name}: the ClickHouse plugin would leave it in the SQL`);
    out += rest.slice(0, m.index);
    let end = m.index + m[0].length;
    let args: string[] = [];
    if (rest[end] === '(') {
      args = macroArgs(rest, end);
      end += args.join(',').length + 2;
    }
    out += fn(args);
    rest = rest.slice(end);
  }
  return out + rest;
}

function expand(sql: string, x: Expansion): string {
  return applyBackendMacros(interpolate(applyConditionalAll(sql, x), x), x);
}

describe('the expansion matches the plugin', () => {
  const x: Expansion = {
    selection: new Map([
      ['service', { all: false, values: ["o'brien-agent", 'b'] }],
      ['tool', { all: true }],
      ['q', { all: false, values: ["it's"] }],
    ]),
    options: new Map([['tool', ['t1', 't2']]]),
    fromS: 100,
    toS: 200,
    intervalS: 30,
  };
  test('conditionalAll keeps the condition for a selection and drops it for All', () => {
    assert.equal(
      expand('WHERE $__conditionalAll(S IN (${service:singlequote}), $service) AND $__conditionalAll(T IN (${tool:singlequote}), $tool)', x),
      "WHERE S IN ('o\\'brien-agent','b') AND 1=1",
    );
  });
  test('sqlstring doubles quotes; All expands to every option elsewhere', () => {
    assert.equal(expand('${q:sqlstring} ${tool:singlequote}', x), "'it''s' 't1','t2'");
  });
  test('backend macros, as pkg/macros writes them', () => {
    assert.equal(
      expand('SELECT $__timeInterval(Timestamp) AS t WHERE $__timeFilter(Timestamp) AND x > $__fromTime AND y < $__toTime LIMIT $__interval_s', x),
      'SELECT toStartOfInterval(toDateTime(Timestamp), INTERVAL 30 second) AS t WHERE Timestamp >= toDateTime(100) AND Timestamp <= toDateTime(200) AND x > toDateTime(100) AND y < toDateTime(200) LIMIT 30',
    );
  });
  test('unknown macros and variables fail', () => {
    assert.throws(() => expand('$__timeFilterr(Timestamp)', x), /unknown macro/);
    assert.throws(() => expand('${servce:singlequote}', x), /unknown template variable/);
  });
});

// ---------------------------------------------------------------------------
// Data written by Sluice

const POLICY = `
version: 1
name: dashboards-e2e
rules:
  - name: export-table
    match: { action: export_table }
    effect: require_approval
    require_approval:
      approvers: { groups: [data-owners] }
      timeout: 10m
  - name: rotate-key-fast
    match: { action: rotate_key }
    effect: require_approval
    require_approval:
      approvers: { groups: [security] }
      timeout: 300ms
`;

// Not an e-mail address: redaction would mask it before the engine sees it.
const REQUESTER = 'rob';
const DANA: Identity = { id: 'dana@example.com', name: 'Dana', groups: ['data-owners'], via: 'oidc' };
const ROB: Identity = { id: REQUESTER, name: 'Rob', groups: ['data-owners'], via: 'oidc' };

let dir: string;
let service: TestService;
let ch: ClickHouseClient;
let approvalCopy: 'service' | 'test';
const startS = Math.floor(Date.now() / 1000);
/** What the test sent, to pick selections and check figures. */
const sent = { traceId: '', opsSpans: 0, ids: {} as Record<string, string> };

function actionHash(action: string, resource: string): string {
  return createHash('sha256').update(`${action}\n${resource}`).digest('hex');
}

function intentSpan(tracer: Tracer, id: string, action: string, resource: string, phase: 'request' | 'execute' = 'request'): void {
  const span = tracer.startSpan(phase === 'request' ? `sluice.approval ${action}` : action, {
    kind: SpanKind.INTERNAL,
    attributes: {
      [ApprovalAttr.id]: id,
      [ApprovalAttr.phase]: phase,
      [ApprovalAttr.action]: action,
      [ApprovalAttr.resource]: resource,
      [ApprovalAttr.reason]: 'weekly report',
      [ApprovalAttr.hash]: actionHash(action, resource),
      [ApprovalAttr.requester]: REQUESTER,
    },
  });
  span.end();
}

async function sendTelemetry(): Promise<void> {
  const traceUrl = `http://127.0.0.1:${service.ports.http}/v1/traces`;
  const logUrl = `http://127.0.0.1:${service.ports.http}/v1/logs`;
  const providers = ['ops-agent', 'support-agent'].map(
    (name) =>
      new BasicTracerProvider({
        resource: resourceFromAttributes({ 'service.name': name, 'deployment.environment': 'prod' }),
        spanProcessors: [new SimpleSpanProcessor(new OTLPTraceExporter({ url: traceUrl }))],
      }),
  );
  const logProvider = new LoggerProvider({
    resource: resourceFromAttributes({ 'service.name': 'ops-agent' }),
    processors: [new SimpleLogRecordProcessor({ exporter: new OTLPLogExporter({ url: logUrl }) } as never)],
  });
  const ops = providers[0]!.getTracer('ops', '1.0.0');
  const support = providers[1]!.getTracer('support', '1.0.0');
  const log = logProvider.getLogger('ops', '1.0.0');

  // A run that searches, fails a query, and (ungated) exports a table.
  const root = ops.startSpan('agent.run', { kind: SpanKind.SERVER, attributes: { 'gen_ai.agent.name': 'ops-agent' } });
  sent.traceId = root.spanContext().traceId;
  const ctx = trace.setSpan(context.active(), root);
  const search = ops.startSpan('tool.call search_docs', { kind: SpanKind.CLIENT, attributes: { 'gen_ai.tool.name': 'search_docs', prompt: 'find the contract of bob@example.com' } }, ctx);
  search.end();
  const query = ops.startSpan('tool.call query_db', { kind: SpanKind.CLIENT, attributes: { 'gen_ai.tool.name': 'query_db' } }, ctx);
  query.setStatus({ code: SpanStatusCode.ERROR, message: 'statement timeout' });
  query.end();
  const exported = ops.startSpan('tool.call export_table', { kind: SpanKind.CLIENT, attributes: { 'gen_ai.tool.name': 'export_table', [ApprovalAttr.resource]: 'orders' } }, ctx);
  exported.end();
  log.emit({ severityNumber: SeverityNumber.INFO, severityText: 'INFO', body: 'mailing the export to jane.doe@example.com', context: ctx });
  log.emit({ severityNumber: SeverityNumber.ERROR, severityText: 'ERROR', body: 'query_db failed: statement timeout', context: ctx });
  root.end();
  sent.opsSpans = 4;

  const mail = support.startSpan('tool.call send_email', { kind: SpanKind.CLIENT, attributes: { 'gen_ai.tool.name': 'send_email', to: 'carol@example.com' } });
  mail.end();

  // Privileged actions asking first: A approved then executed, B denied,
  // C left pending (and a self-approval refused), D expires.
  for (const [key, action, resource] of [
    ['A', 'export_table', 'invoices'],
    ['B', 'export_table', 'customers'],
    ['C', 'export_table', 'payroll'],
    ['D', 'rotate_key', 'kms/prod'],
  ] as const) {
    sent.ids[key] = `dash-${key}-${startS}`;
    intentSpan(ops, sent.ids[key]!, action, resource);
    sent.opsSpans++;
  }
  for (const p of providers) await p.forceFlush();
  await logProvider.forceFlush();

  const engine = service.engine!;
  assert.equal(engine.get(sent.ids.A!)?.state, 'pending', 'the intent span opened request A');
  assert.equal((await engine.decide({ approvalId: sent.ids.A!, verdict: 'approve', by: DANA, comment: 'ok for the audit', channel: 'api' })).ok, true);
  assert.equal((await engine.decide({ approvalId: sent.ids.B!, verdict: 'deny', by: DANA, comment: 'not this table', channel: 'api' })).ok, true);
  const self = await engine.decide({ approvalId: sent.ids.C!, verdict: 'approve', by: ROB, comment: 'mine', channel: 'api' });
  assert.equal(self.ok, false, 'a requester cannot approve their own request');
  assert.equal((await engine.waitForDecision(sent.ids.D!, 10_000))?.state, 'expired');
  assert.equal((await engine.consume(sent.ids.A!, actionHash('export_table', 'invoices'))).ok, true);
  intentSpan(ops, sent.ids.A!, 'export_table', 'invoices', 'execute');
  sent.opsSpans++;
  for (const p of providers) await p.forceFlush();
  await Promise.all([...providers.map((p) => p.shutdown()), logProvider.shutdown()]);
  await service.flush();
}

/**
 * The approvals copy events to ClickHouse (approvals/store) once the service
 * wires the store; until then this test writes them through the same DDL and
 * row mapping, so the dashboard is still checked against the real columns.
 */
async function ensureApprovalEvents(recorded: Array<{ event: ApprovalEvent; request: ApprovalRequest | undefined }>): Promise<'service' | 'test'> {
  const count = async () => {
    const [row] = await rows<{ n: string }>(`SELECT count() AS n FROM system.tables WHERE database = currentDatabase() AND name = 'sluice_approval_events'`);
    if (Number(row?.n) === 0) return -1;
    const [c] = await rows<{ n: string }>(`SELECT count() AS n FROM sluice_approval_events`);
    return Number(c?.n);
  };
  for (let i = 0; i < 100; i++) {
    const n = await count();
    if (n >= recorded.length) return 'service';
    if (n === -1 && i >= 10) break;
    await new Promise((r) => setTimeout(r, 100));
  }
  const handle = openClickHouse({ endpoint: `embedded:${join(dir, 'data', 'clickhouse')}` });
  try {
    for (const sql of approvalStoreDdl()) await handle.command(sql);
    const body = recorded.map((r) => JSON.stringify(approvalEventRow(r.event, r.request))).join('\n') + '\n';
    await handle.insert('sluice_approval_events', Buffer.from(body));
  } finally {
    await handle.close();
  }
  return 'test';
}

async function rows<T = Record<string, unknown>>(query: string): Promise<T[]> {
  const rs = await ch.query({ query, format: 'JSONEachRow' });
  return rs.json<T>();
}

before(async () => {
  dir = await mkdtemp(join(tmpdir(), 'sluice-dashboards-'));
  const policyFile = join(dir, 'policy.yaml');
  await writeFile(policyFile, POLICY);
  service = await startTestService({
    dataDir: join(dir, 'data'),
    processors: `  redaction:\n    packs: [pii, secrets]\n    hash_key: "dashboards-e2e-hash-key-0123456789"\n  privileged: {}`,
    tracesProcessors: ['redaction', 'privileged'],
    logsProcessors: ['redaction'],
    approvals: `  policy_file: "${policyFile}"\n  watch_policy: false\n`,
  });
  assert.ok(service.engine, 'the approvals engine runs');
  assert.ok(service.ports.query, 'the embedded engine serves its read-only ClickHouse port');
  ch = createClient({ url: `http://127.0.0.1:${service.ports.query}` });
  const recorded: Array<{ event: ApprovalEvent; request: ApprovalRequest | undefined }> = [];
  const off = service.engine.onEvent((event, request) => void recorded.push({ event, request: request && structuredClone(request) }));
  await sendTelemetry();
  off();
  approvalCopy = await ensureApprovalEvents(recorded);
});

after(async () => {
  await ch?.close();
  await service?.cleanup();
  if (dir) await rm(dir, { recursive: true, force: true });
});

// ---------------------------------------------------------------------------
// The dashboards

async function loadDashboards(): Promise<Array<{ file: string; dashboard: Dashboard }>> {
  const files = (await readdir(DASHBOARD_DIR)).filter((f) => f.endsWith('.json')).sort();
  return Promise.all(files.map(async (file) => ({ file, dashboard: JSON.parse(await readFile(join(DASHBOARD_DIR, file), 'utf8')) as Dashboard })));
}

/** Concrete selections that the data above must satisfy in every panel. */
function concreteSelection(): Record<string, string[]> {
  return {
    service: ['ops-agent'],
    tool: ['query_db'],
    agent: ['ops-agent'],
    signal: ['traces', 'logs'],
    type: ['email'],
    status: ['Error'],
    span_name: ['query'],
    attribute: ['gen_ai.tool.name=query_db'],
    min_duration_ms: ['0'],
    trace_id: [sent.traceId],
    log_text: ['timeout'],
  };
}

/** Panels that show the trace the user selected: empty until one is. */
const NEEDS_SELECTION = new Set(['sluice-trace-search/Trace', 'sluice-trace-search/Logs of the selected trace']);

const dashboards = await loadDashboards();

test('the dashboards are all here and all use the provisioned datasource', async (t) => {
  t.diagnostic(`approval events copied to ClickHouse by the ${approvalCopy === 'service' ? 'service' : 'test (the service does not copy them yet)'}`);
  assert.deepEqual(
    dashboards.map((d) => d.dashboard.uid),
    ['sluice-agent-activity', 'sluice-approvals', 'sluice-redaction', 'sluice-trace-search'],
  );
  const ds = parseYaml(await readFile(join(REPO, 'deploy/grafana/provisioning/datasources/clickhouse.yaml'), 'utf8'));
  const source = ds.datasources[0];
  assert.equal(source.uid, DATASOURCE_UID);
  assert.equal(source.type, 'grafana-clickhouse-datasource');
  assert.equal(source.jsonData.protocol, 'http', 'the embedded read-only port speaks HTTP only');
  assert.deepEqual(
    { ...source.jsonData.traces, defaultDatabase: undefined },
    {
      ...source.jsonData.traces,
      defaultDatabase: undefined,
      defaultTable: 'otel_traces',
      otelEnabled: true,
      otelVersion: 'latest',
      durationUnit: 'nanoseconds',
      traceTimestampTableSuffix: '_trace_id_ts',
    },
  );
  assert.equal(source.jsonData.logs.defaultTable, 'otel_logs');
  assert.equal(source.jsonData.logs.otelEnabled, true);
  assert.equal(source.jsonData.logs.otelVersion, 'latest');
  for (const { dashboard } of dashboards) {
    for (const p of dashboard.panels.filter((p) => p.type !== 'row')) {
      assert.ok(p.targets?.length, `${dashboard.uid}/${p.title} has a query`);
      for (const t of p.targets!) {
        assert.equal(t.datasource.uid, DATASOURCE_UID, `${dashboard.uid}/${p.title}`);
        assert.equal(t.editorType, 'sql', `${dashboard.uid}/${p.title}`);
      }
    }
    for (const v of dashboard.templating.list) if (v.type === 'query') assert.equal(v.datasource?.uid, DATASOURCE_UID, `${dashboard.uid}/$${v.name}`);
  }
});

test('the read-only port answers the plugin: Native over HTTP, with the query timeout it sets', async () => {
  // clickhouse-go (the plugin's client) sends max_execution_time from the datasource's queryTimeout.
  const res = await fetch(`http://127.0.0.1:${service.ports.query}/?default_format=Native&max_execution_time=60`, { method: 'POST', body: 'SELECT count() AS n FROM otel_traces' });
  assert.equal(res.status, 200, await res.clone().text());
  assert.ok((await res.arrayBuffer()).byteLength > 0);
});

for (const { file, dashboard } of dashboards) {
  describe(`${file}: every query runs on data Sluice wrote`, () => {
    for (const mode of ['All selected', 'one value selected'] as const) {
      test(mode, async () => {
        const x: Expansion = { selection: new Map(), options: new Map(), fromS: startS - 3600, toS: Math.floor(Date.now() / 1000) + 3600, intervalS: 60 };
        const concrete = concreteSelection();
        // Variables first, in order, as Grafana resolves them.
        for (const v of dashboard.templating.list) {
          let options: string[];
          if (v.type === 'query') {
            const sql = expand(v.query, x);
            const got = await rows<Record<string, string>>(sql).catch((err: Error) => assert.fail(`${dashboard.uid} variable $${v.name}: ${err.message}\n${sql}`));
            options = got.map((r) => String(Object.values(r)[0]));
            assert.ok(options.length > 0, `${dashboard.uid} variable $${v.name} lists no values:\n${sql}`);
          } else if (v.type === 'custom') {
            options = v.query.split(',').map((s) => s.trim());
          } else {
            options = [v.query];
          }
          x.options.set(v.name, options);
          const want = concrete[v.name];
          assert.ok(want, `the test has no concrete value for $${v.name}; add one to concreteSelection()`);
          if (mode === 'All selected') {
            x.selection.set(v.name, v.type === 'textbox' ? { all: false, values: [v.query] } : { all: true });
          } else {
            if (v.type !== 'textbox') for (const w of want) assert.ok(options.includes(w), `$${v.name} offers ${w} (it offers ${options.join(', ')})`);
            x.selection.set(v.name, { all: false, values: want });
          }
        }
        for (const p of dashboard.panels.filter((p) => p.type !== 'row')) {
          const key = `${dashboard.uid}/${p.title}`;
          for (const t of p.targets!) {
            const sql = expand(t.rawSql, x);
            const got = await rows<Record<string, unknown>>(sql).catch((err: Error) => assert.fail(`${key}: ${err.message}\n${sql}`));
            if (mode === 'All selected' && NEEDS_SELECTION.has(key)) continue;
            assert.ok(got.length > 0, `${key} (${mode}) returned no rows:\n${sql}`);
            if (p.type === 'stat') {
              const value = Object.values(got[0]!)[0];
              assert.ok(value !== null && Number.isFinite(Number(value)), `${key}: stat value ${String(value)}`);
            }
            if (mode === 'one value selected') checkFigures(key, got);
          }
        }
      });
    }
  });
}

/** Figures the data above determines exactly, with one value selected per variable. */
function checkFigures(key: string, got: Array<Record<string, unknown>>): void {
  const first = (col: string) => Number(got[0]![col]);
  switch (key) {
    case 'sluice-agent-activity/Spans':
      return assert.equal(first('spans'), sent.opsSpans, key);
    case 'sluice-agent-activity/Recent errors':
      return assert.deepEqual(got.map((r) => [r.Agent, r.Tool, r.Trace]), [['ops-agent', 'query_db', sent.traceId]], key);
    case 'sluice-agent-activity/Tools by agent':
      return assert.deepEqual(got.map((r) => [r.Agent, r.Tool, Number(r.Calls), Number(r.Errors)]), [['ops-agent', 'query_db', 1, 1]], key);
    case 'sluice-approvals/Pending now':
      return assert.equal(first('pending'), 1, key);
    case 'sluice-approvals/Waiting for a decision':
      return assert.deepEqual(got.map((r) => [r.Request, r.Agent, r.Action, r.Resource, r.Requester, r.Approvals]), [[sent.ids.C, 'ops-agent', 'export_table', 'payroll', REQUESTER, '0 of 1']], key);
    case 'sluice-approvals/Decisions':
      return assert.equal(first('decisions'), 2, key);
    case 'sluice-approvals/Ungated privileged actions':
      return assert.equal(first('ungated'), 1, key);
    case 'sluice-approvals/Denials and expiries':
      return assert.deepEqual(got.map((r) => [r.Outcome, r.Request]).sort(), [['denied', sent.ids.B], ['expired', sent.ids.D]], key);
    case 'sluice-approvals/Who approves what':
      return assert.deepEqual(got.map((r) => [r.Approver, r.Rule, Number(r.Approved), Number(r.Denied)]), [['dana@example.com', 'export-table', 1, 1]], key);
    case 'sluice-approvals/Refused decision attempts':
      return assert.deepEqual(got.map((r) => [r.Who, r.Request]), [[REQUESTER, sent.ids.C]], key);
    case 'sluice-approvals/Ungated and flagged privileged actions':
      return assert.deepEqual(got.map((r) => [r.Violation, r.Action, r.Trace]), [['ungated', 'export_table', sent.traceId]], key);
    case 'sluice-approvals/Outcomes of approved actions':
      return assert.deepEqual(got.map((r) => r.outcome), ['executed'], key);
    case 'sluice-redaction/Records redacted':
      // The search span's prompt and the log that mails the export (ops-agent only).
      return assert.equal(first('records'), 2, key);
    case 'sluice-redaction/Types by service and signal':
      return assert.deepEqual(got.map((r) => [r.Service, r.Signal, r.Type, Number(r.Records)]).sort(), [['ops-agent', 'logs', 'email', 1], ['ops-agent', 'traces', 'email', 1]], key);
    case 'sluice-trace-search/Traces':
      return assert.deepEqual(got.map((r) => [r.Trace, Number(r.Spans), Number(r.Errors)]), [[sent.traceId, 1, 1]], key);
    case 'sluice-trace-search/Trace':
      return assert.equal(got.length, 4, `${key}: the four spans of the run`);
    case 'sluice-trace-search/Logs of the selected trace':
      return assert.deepEqual(got.map((r) => r.level).sort(), ['ERROR', 'INFO'], key);
    default:
      return undefined;
  }
}
