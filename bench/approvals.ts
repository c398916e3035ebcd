// Approvals latency under load, against a started Sluice (startService: OTLP
// receiver → redaction → privileged → engine + fsync'd journal → Slack
// notifier and REST API) with a fake Slack on loopback and the real
// OpenTelemetry SDK + requireApproval on the agent side.
//   notify:  intent span ended in the agent (handed to the OTLP exporter; an
//            upper bound of "received by Sluice") → chat.postMessage received
//            by the fake Slack
//   unblock: decision received (the engine's timestamp on the decision
//            event, stamped after auth, before the durable append; ms
//            resolution, rounded down, so up to 1 ms is added) →
//            requireApproval resolved in the agent. Also shown: decision POST
//            sent by the client → resolved.
// The agents with the approver, and the fake Slack (bench/lib/approvals-world.ts)
// run in two child processes by default, as they would on other machines: the
// agents' CPU is not on Sluice's event loop, and Slack's receive stamp is not
// held up behind the agents' work. All processes share this machine's cores.
// --same-process runs both on Sluice's event loop instead (every hop then
// also pays for their CPU). Timestamps taken in a child are moved onto this
// process's clock with the offset measured over IPC (printed).
// Each run starts cold: the first round (min(20, concurrent) requests) is a
// warm-up, printed on its own, then --warmup rounds at full concurrency
// (printed, not counted), then the measured rounds. Each round opens
// `concurrent` requests at the same instant, waits until Slack has every
// post, then sends every decision at the same instant: bursts, not a trickle.
// Prints figures, then one JSON line.
//   node --import tsx bench/approvals.ts [concurrent=20] [rounds=3] [--warmup=1] [--rate=50] [--seconds=20] [--decide-after=100] [--same-process] [--prof=FILE.cpuprofile]
import { fork, type ChildProcess } from 'node:child_process';
import { subscribe } from 'node:diagnostics_channel';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseConfigText } from '../config/load.js';
import { startService } from '../pipeline/service.js';
import { createLogger } from '../pipeline/telemetry/logger.js';
import { BENCH_TOKENS, epochNow, startAgents, startSlack, type AgentTimes } from './lib/approvals-world.js';

const positional = process.argv.slice(2).filter((a) => !a.startsWith('--'));
const flag = (name: string) => process.argv.find((a) => a === `--${name}` || a.startsWith(`--${name}=`));
const CONCURRENT = Number(positional[0] ?? 20);
const ROUNDS = Number(positional[1] ?? 3);
const WARMUP = Number(flag('warmup')?.split('=')[1] ?? 1);
const SAME_PROCESS = flag('same-process') !== undefined;
const PROF = flag('prof')?.split('=')[1];
// Paced phase: RATE approvals a second for SECONDS, each decided DECIDE_AFTER ms
// after its intent span was accepted. 0 skips it.
const RATE = Number(flag('rate')?.split('=')[1] ?? 50);
const SECONDS = Number(flag('seconds')?.split('=')[1] ?? 20);
const DECIDE_AFTER = Number(flag('decide-after')?.split('=')[1] ?? 100);
const { agent: AGENT, decider: DECIDER, bot: BOT } = BENCH_TOKENS;

/** When chat.postMessage arrived at Slack, per approval id, on this process's clock. */
const posted = new Map<string, number>();
let onPosted = () => {};
const notePosted = (id: string, at: number) => {
  posted.set(id, at);
  onPosted();
};

interface Child {
  ask(m: unknown): Promise<any>;
  send(m: unknown): void;
  /** Child clock minus ours, and the bound on its error (half the shortest round trip). */
  offsetMs: number;
  errMs: number;
  first: any;
}

/** A child over IPC, with its clock offset measured NTP style (the shortest of 50 round trips). */
async function fork_(role: 'agents' | 'slack', onPush: (m: any) => void): Promise<Child> {
  const child: ChildProcess = fork(new URL('./lib/approvals-world.ts', import.meta.url).pathname, [], {
    execArgv: ['--import', 'tsx'],
    env: { ...process.env, SLUICE_BENCH_CHILD: role },
    stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
  });
  const waiters: Array<(m: any) => void> = [];
  child.on('message', (m: any) => {
    if (m.op === 'error') throw new Error(`bench ${role} failed: ${m.message}`);
    if (m.op === 'posted') return onPush(m);
    waiters.shift()?.(m);
  });
  child.on('exit', (code) => {
    if (code) throw new Error(`bench ${role} exited with ${code}`);
  });
  const next = () => new Promise<any>((r) => waiters.push(r));
  const ask = (m: unknown) => {
    const p = next();
    child.send(m as never);
    return p;
  };
  const first = await next();
  let best = { rtt: Infinity, offset: 0 };
  for (let i = 0; i < 50; i++) {
    const t0 = epochNow();
    const { now } = await ask({ op: 'clock' });
    const t1 = epochNow();
    if (t1 - t0 < best.rtt) best = { rtt: t1 - t0, offset: now - (t0 + t1) / 2 };
  }
  return { ask, send: (m) => void child.send(m as never), offsetMs: best.offset, errMs: best.rtt / 2, first };
}

interface World {
  slackUrl: string;
  clocks: string;
  target(e: { api: string; otlp: string }): void;
  request(n: number): Promise<string[]>;
  decide(): Promise<AgentTimes>;
  stream(rate: number, seconds: number, decideAfterMs: number): Promise<AgentTimes>;
  close(): Promise<void>;
}

async function startWorld(): Promise<World> {
  if (SAME_PROCESS) {
    const slack = await startSlack(notePosted);
    const agents = await startAgents();
    return {
      slackUrl: slack.url,
      clocks: 'one clock',
      target: agents.target,
      request: agents.request,
      decide: agents.decide,
      stream: agents.stream,
      async close() {
        await agents.close();
        await slack.close();
      },
    };
  }
  let slackOffset = 0;
  const slack = await fork_('slack', (m) => notePosted(m.id, m.at - slackOffset));
  slackOffset = slack.offsetMs;
  const agents = await fork_('agents', () => {});
  const shift = (r: Record<string, number>) => Object.fromEntries(Object.entries(r).map(([k, v]) => [k, v - agents.offsetMs]));
  return {
    slackUrl: slack.first.slackUrl,
    clocks: `clock offsets: agents ${agents.offsetMs.toFixed(3)} ± ${agents.errMs.toFixed(3)} ms, slack ${slack.offsetMs.toFixed(3)} ± ${slack.errMs.toFixed(3)} ms`,
    target: (e) => agents.send({ op: 'target', ...e }),
    request: async (n) => (await agents.ask({ op: 'request', n })).ids,
    async decide() {
      const { times } = (await agents.ask({ op: 'decide' })) as { times: AgentTimes };
      return { ended: shift(times.ended), sent: shift(times.sent), resolved: shift(times.resolved) };
    },
    async stream(rate, seconds, decideAfterMs) {
      const { times } = (await agents.ask({ op: 'stream', rate, seconds, decideAfterMs })) as { times: AgentTimes };
      return { ended: shift(times.ended), sent: shift(times.sent), resolved: shift(times.resolved) };
    },
    async close() {
      await agents.ask({ op: 'close' });
      await slack.ask({ op: 'close' });
    },
  };
}

const world = await startWorld();
const dir = await mkdtemp(join(tmpdir(), 'sluice-bench-approvals-'));
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
    slack: { bot_token: ${BOT}, signing_secret: bench-signing-secret, api_url: "${world.slackUrl}", channel: "#approvals" }
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
world.target({ api: `http://127.0.0.1:${service.ports.api}`, otlp: `http://127.0.0.1:${service.ports.http}/v1/traces` });

const openedAt = new Map<string, number>();
const decidedAt = new Map<string, number>();
// When Sluice finished writing the answer to a request's decision long-poll
// (the last answer, the one that carried the decision): unblock without the
// agent's side of the connection.
const answeredAt = new Map<string, number>();
const DECISION_POLL = /^\/v1\/approvals\/([^/?]+)\/decision\?/;
subscribe('http.server.response.finish', (m) => {
  const id = DECISION_POLL.exec((m as { request: { url?: string } }).request.url ?? '')?.[1];
  if (id) answeredAt.set(decodeURIComponent(id), epochNow());
});
service.engine!.onEvent((e) => {
  if (e.type === 'opened') openedAt.set(e.approvalId, epochNow());
  if (e.type === 'approved') decidedAt.set(e.approvalId, e.at);
});

const pct = (xs: number[], p: number) => {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.ceil((p / 100) * s.length) - 1)];
};

async function round(n: number) {
  const ids = await world.request(n);
  // Slack may have every post before the agents learn their requests went out, or after.
  await allPosted(ids);
  // Every agent is now parked on the long-poll; decide them all at once.
  return figures(ids, await world.decide());
}

function allPosted(ids: string[]): Promise<void> {
  return new Promise<void>((resolve) => {
    onPosted = () => {
      if (ids.every((id) => posted.has(id))) resolve();
    };
    onPosted();
  });
}

function figures(ids: string[], t: AgentTimes) {
  return {
    notify: ids.map((id) => posted.get(id)! - t.ended[id]!),
    openedToPosted: ids.map((id) => posted.get(id)! - openedAt.get(id)!),
    unblock: ids.map((id) => Math.max(0, t.resolved[id]! - decidedAt.get(id)!)),
    sentToResolved: ids.map((id) => t.resolved[id]! - t.sent[id]!),
    decidedToAnswered: ids.map((id) => Math.max(0, answeredAt.get(id)! - decidedAt.get(id)!)),
  };
}

/** The open-loop phase: a steady arrival rate instead of bursts. */
async function paced() {
  const t = await world.stream(RATE, SECONDS, DECIDE_AFTER);
  const ids = Object.keys(t.resolved);
  await allPosted(ids);
  return figures(ids, t);
}

const line = (name: string, xs: number[]) => `${name} p50 ${pct(xs, 50).toFixed(2)} ms p99 ${pct(xs, 99).toFixed(2)} ms`;
const where = SAME_PROCESS ? 'agents and fake Slack in this process' : `agents and fake Slack in two child processes (${world.clocks})`;
console.log(`${where}; ${CONCURRENT} concurrent, ${WARMUP} warm-up round(s), ${ROUNDS} measured`);
const cold = await round(Math.min(20, CONCURRENT)); // JIT, connections, journal file
console.log(`cold round (warm-up, not counted): ${cold.notify.length} concurrent  ${line('notify', cold.notify)}  ${line('unblock', cold.unblock)}`);
for (let r = 0; r < WARMUP; r++) {
  const t = await round(CONCURRENT);
  console.log(`warm-up round ${r + 1} (not counted): ${CONCURRENT} concurrent  ${line('notify', t.notify)}  ${line('unblock', t.unblock)}`);
}
// --prof=FILE: a CPU profile of this (Sluice's) process over the measured rounds.
const inspector = PROF ? new (await import('node:inspector/promises')).Session() : undefined;
if (inspector) {
  inspector.connect();
  await inspector.post('Profiler.enable');
  await inspector.post('Profiler.start');
}
// CPU this process (Sluice; with --same-process also the agents and Slack)
// spent per request over the measured rounds: steadier than latency on a
// shared machine, and what a burst's latency grows with.
const cpu0 = process.cpuUsage();
const all = { notify: [] as number[], openedToPosted: [] as number[], unblock: [] as number[], sentToResolved: [] as number[], decidedToAnswered: [] as number[] };
for (let r = 0; r < ROUNDS; r++) {
  const t = await round(CONCURRENT);
  for (const k of Object.keys(all) as Array<keyof typeof all>) all[k].push(...t[k]);
  console.log(`round ${r + 1}: ${CONCURRENT} concurrent  ${line('notify', t.notify)}  ${line('unblock', t.unblock)}`);
}
const cpu = process.cpuUsage(cpu0);
const cpuPerRequest = (cpu.user + cpu.system) / 1000 / (ROUNDS * CONCURRENT);
if (inspector) {
  const { profile } = await inspector.post('Profiler.stop');
  await writeFile(PROF!, JSON.stringify(profile));
  inspector.disconnect();
}
const { notify, unblock } = all;
console.log(`measured burst rounds (n=${notify.length}):`);
const report = (f: typeof all, cpuMs: number) => {
  console.log(`  notify   intent span ended → chat.postMessage received   ${line('', f.notify)}`);
  console.log(`           of which request opened → chat.postMessage      ${line('', f.openedToPosted)}`);
  console.log(`  unblock  decision received → requireApproval resolved    ${line('', f.unblock)}`);
  console.log(`           of which decision received → long-poll answered ${line('', f.decidedToAnswered)}`);
  console.log(`           decision POST sent → requireApproval resolved   ${line('', f.sentToResolved)}`);
  console.log(`  CPU of ${SAME_PROCESS ? 'this process (Sluice + agents + Slack)' : "Sluice's process"}: ${cpuMs.toFixed(2)} ms per request`);
};
report(all, cpuPerRequest);

// The paced phase: approvals arrive at a steady rate (open loop: a slow answer
// does not slow the arrivals), each decided shortly after it opened — sustained
// load, where a burst above measures how long the last of N simultaneous
// requests queues behind the others on two cores.
let steady: typeof all | undefined;
let steadyCpu = 0;
if (RATE > 0) {
  const c0 = process.cpuUsage();
  steady = await paced();
  const c = process.cpuUsage(c0);
  steadyCpu = (c.user + c.system) / 1000 / steady.notify.length;
  console.log(`paced: ${RATE} approvals/s for ${SECONDS} s, each decided ${DECIDE_AFTER} ms after its intent span was accepted (n=${steady.notify.length}):`);
  report(steady, steadyCpu);
}

// Sluice first: it finishes its Slack updates against the still-running fake Slack.
await service.stop();
await world.close();
await rm(dir, { recursive: true, force: true });
const p99 = (xs: number[]) => +pct(xs, 99).toFixed(2);
const p50 = (xs: number[]) => +pct(xs, 50).toFixed(2);
// The headline is the paced phase (sustained load) when it ran, the bursts otherwise.
const head = steady ?? all;
console.log(
  JSON.stringify({
    notify_p50_ms: p50(head.notify),
    notify_p99_ms: p99(head.notify),
    unblock_p50_ms: p50(head.unblock),
    unblock_p99_ms: p99(head.unblock),
    rate_per_s: steady ? RATE : 0,
    samples: head.notify.length,
    same_process: SAME_PROCESS,
    burst_concurrent: CONCURRENT,
    burst_notify_p99_ms: p99(notify),
    burst_unblock_p99_ms: p99(unblock),
    cold_notify_p99_ms: p99(cold.notify),
    cold_unblock_p99_ms: p99(cold.unblock),
    opened_to_posted_p99_ms: p99(head.openedToPosted),
    decided_to_answered_p99_ms: p99(head.decidedToAnswered),
    cpu_ms_per_request: +(steady ? steadyCpu : cpuPerRequest).toFixed(2),
  }),
);
