// Approvals latency under load, against a started Sluice (startService: OTLP
// receiver → redaction → privileged → engine + fsync'd journal → Slack
// notifier and REST API) with a fake Slack on loopback and the real
// OpenTelemetry SDK + requireApproval on the agent side.
//   notify:  intent span ended in the agent (handed to the OTLP exporter; an
//            upper bound of "received by Sluice") → chat.postMessage received
//            by the fake Slack
//   unblock: decision received (the engine's timestamp on the decision
//            event, stamped after auth, before the fsync'd append; ms
//            resolution) → requireApproval resolved in the agent. Also shown:
//            decision POST sent by the client → resolved.
// Agent, Sluice and the fake Slack share this process and its 2 cores, so
// every hop also pays for the others' CPU; figures are upper bounds.
// Prints figures, then one JSON line.
//   node --import tsx bench/approvals.ts [concurrent=200] [rounds=3]
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { resourceFromAttributes } from '@opentelemetry/resources';
import { BasicTracerProvider, SimpleSpanProcessor, type ReadableSpan, type SpanProcessor } from '@opentelemetry/sdk-trace-base';
import { OTLPTraceExporter } from '@opentelemetry/exporter-trace-otlp-proto';
import { parseConfigText } from '../config/load.js';
import { startService } from '../pipeline/service.js';
import { createLogger } from '../pipeline/telemetry/logger.js';
import { ApprovalAttr } from '../approvals/types.js';
import { requireApproval } from '../sdk/index.js';
import { startFakeSlack, type SlackCall } from '../test/helpers/fake-slack.js';

const CONCURRENT = Number(process.argv[2] ?? 200);
const ROUNDS = Number(process.argv[3] ?? 3);
const AGENT = 'bench-agent-token-0123456789abcdef';
const DECIDER = 'bench-decider-token-0123456789abcdef';
const BOT = 'xoxb-bench';

const dir = await mkdtemp(join(tmpdir(), 'sluice-bench-approvals-'));
const slack = await startFakeSlack({ botToken: BOT });
await writeFile(
  join(dir, 'policy.yaml'),
  `version: 1
name: bench
rules:
  - name: bench-export
    match: { action: export_table }
    effect: require_approval
    require_approval:
      approvers: { groups: [data-owners] }
      timeout: 10m
      channels: [slack]
`,
);
const config = parseConfigText(
  `
receivers: { otlp: { protocols: { http: { endpoint: "127.0.0.1:0" } } } }
processors:
  redaction: {}
  privileged: {}
  batch: { timeout: 20ms }
exporters: { debug: {} }
approvals:
  policy_file: "${join(dir, 'policy.yaml')}"
  auth:
    tokens:
      - { name: agent, value: "${AGENT}", scopes: [ingest, request] }
      - { name: approver, value: "${DECIDER}", scopes: [read, decide], identity: { id: approver@example.com, groups: [data-owners] } }
  channels:
    slack: { bot_token: ${BOT}, signing_secret: bench-signing-secret, api_url: "${slack.apiUrl}", channel: "#approvals" }
service:
  data_dir: "${join(dir, 'data')}"
  telemetry: { logs: { level: warn }, admin: { endpoint: "127.0.0.1:0" } }
  api: { endpoint: "127.0.0.1:0" }
  pipelines: { traces: { receivers: [otlp], processors: [redaction, privileged, batch], exporters: [debug] } }
`,
  process.env,
  'bench',
);
const service = await startService(config, { logger: createLogger({ level: 'warn' }) });
const api = `http://127.0.0.1:${service.ports.api}`;

// When each intent span ended in the agent, by approval id.
const ended = new Map<string, number>();
const stamp: SpanProcessor = {
  onStart() {},
  onEnd(span: ReadableSpan) {
    const id = span.attributes[ApprovalAttr.id];
    if (typeof id === 'string' && span.attributes[ApprovalAttr.phase] === 'request') ended.set(id, performance.now());
  },
  forceFlush: async () => {},
  shutdown: async () => {},
};
const provider = new BasicTracerProvider({
  resource: resourceFromAttributes({ 'service.name': 'bench-agent' }),
  spanProcessors: [stamp, new SimpleSpanProcessor(new OTLPTraceExporter({ url: `http://127.0.0.1:${service.ports.http}/v1/traces`, concurrencyLimit: 10_000 }))],
});

const posted = new Map<string, number>();
const epochNow = () => performance.timeOrigin + performance.now();
const openedAt = new Map<string, number>();
const decidedAt = new Map<string, number>();
service.engine!.onEvent((e) => {
  if (e.type === 'opened') openedAt.set(e.approvalId, performance.now());
  if (e.type === 'approved') decidedAt.set(e.approvalId, e.at);
});
slack.events.on('call', (c: SlackCall) => {
  if (c.method !== 'chat.postMessage') return;
  const actions = (c.args.blocks as Array<{ type: string; elements?: Array<{ value?: string }> }>).find((b) => b.type === 'actions');
  const id = actions?.elements?.[0]?.value;
  if (id) posted.set(id, c.at);
});

const pct = (xs: number[], p: number) => {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.ceil((p / 100) * s.length) - 1)];
};

async function round(n: number) {
  const ids: string[] = [];
  let check = () => {};
  // Slack may be posted to before the agent learns its request went out: check on both.
  const allPosted = new Promise<void>((resolve) => {
    check = () => {
      if (ids.length === n && ids.every((id) => posted.has(id))) {
        slack.events.off('call', check);
        resolve();
      }
    };
    slack.events.on('call', check);
  });
  const resolvedAt = new Map<string, number>();
  const waits = Array.from({ length: n }, (_, i) =>
    requireApproval({
      action: 'export_table',
      resource: `warehouse.t${i}`,
      reason: 'bench',
      arguments: { table: `t${i}`, rows: i },
      attributes: { 'enduser.id': `user${i}@example.com` },
      endpoint: api,
      token: AGENT,
      tracerProvider: provider,
      timeoutMs: 120_000,
      onRequested: (id) => {
        ids.push(id);
        check();
      },
    }).then((a) => resolvedAt.set(a.id, epochNow())),
  );
  await allPosted;
  // Every agent is now parked on the long-poll; decide them all at once.
  const sentAt = new Map<string, number>();
  await Promise.all(
    ids.map(async (id) => {
      sentAt.set(id, epochNow());
      const res = await fetch(`${api}/v1/approvals/${id}/decisions`, {
        method: 'POST',
        headers: { authorization: `Bearer ${DECIDER}`, 'content-type': 'application/json' },
        body: '{"decision":"approve"}',
      });
      if (res.status !== 200) throw new Error(`decision answered ${res.status}`);
      await res.arrayBuffer();
    }),
  );
  await Promise.all(waits);
  return {
    notify: ids.map((id) => posted.get(id)! - ended.get(id)!),
    openedToPosted: ids.map((id) => posted.get(id)! - openedAt.get(id)!),
    unblock: ids.map((id) => Math.max(0, resolvedAt.get(id)! - decidedAt.get(id)!)),
    sentToResolved: ids.map((id) => resolvedAt.get(id)! - sentAt.get(id)!),
  };
}

await round(Math.min(20, CONCURRENT)); // warm-up: JIT, connections, journal file
const all = { notify: [] as number[], openedToPosted: [] as number[], unblock: [] as number[], sentToResolved: [] as number[] };
const line = (name: string, xs: number[]) => `${name} p50 ${pct(xs, 50).toFixed(2)} ms p99 ${pct(xs, 99).toFixed(2)} ms`;
for (let r = 0; r < ROUNDS; r++) {
  const t = await round(CONCURRENT);
  for (const k of Object.keys(all) as Array<keyof typeof all>) all[k].push(...t[k]);
  console.log(`round ${r + 1}: ${CONCURRENT} concurrent  ${line('notify', t.notify)}  ${line('unblock', t.unblock)}`);
}
const { notify, unblock } = all;
console.log(`all (n=${notify.length}):`);
console.log(`  notify   intent span ended → chat.postMessage received   ${line('', notify)}`);
console.log(`           of which request opened → chat.postMessage      ${line('', all.openedToPosted)}`);
console.log(`  unblock  decision received → requireApproval resolved    ${line('', unblock)}`);
console.log(`           decision POST sent → requireApproval resolved   ${line('', all.sentToResolved)}`);

await provider.shutdown();
await service.stop();
await slack.close();
await rm(dir, { recursive: true, force: true });
console.log(
  JSON.stringify({
    concurrent: CONCURRENT,
    samples: notify.length,
    notify_p50_ms: +pct(notify, 50).toFixed(2),
    notify_p99_ms: +pct(notify, 99).toFixed(2),
    unblock_p50_ms: +pct(unblock, 50).toFixed(2),
    unblock_p99_ms: +pct(unblock, 99).toFixed(2),
  }),
);
