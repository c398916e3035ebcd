// Everything outside Sluice in bench/approvals.ts: agents (the real
// OpenTelemetry SDK + requireApproval) with the approver who POSTs decisions,
// and a fake Slack on loopback. bench/approvals.ts runs each in a child
// process of its own (as in production, neither's CPU is Sluice's event loop,
// and Slack's receive time is not held up by the agents' work; all processes
// still share the machine's cores) or, with --same-process, inside its own.
// Every timestamp is epoch milliseconds with sub-millisecond resolution
// (performance.timeOrigin + performance.now()).
import { performance } from 'node:perf_hooks';
import { resourceFromAttributes } from '@opentelemetry/resources';
import { BasicTracerProvider, SimpleSpanProcessor, type ReadableSpan, type SpanProcessor } from '@opentelemetry/sdk-trace-base';
import { OTLPTraceExporter } from '@opentelemetry/exporter-trace-otlp-proto';
import { ApprovalAttr } from '../../approvals/types.js';
import { requireApproval } from '../../sdk/index.js';
import { startFakeSlack, type SlackCall } from '../../test/helpers/fake-slack.js';

export const BENCH_TOKENS = {
  agent: 'bench-agent-token-0123456789abcdef',
  decider: 'bench-decider-token-0123456789abcdef',
  bot: 'xoxb-bench',
} as const;

export const epochNow = (): number => performance.timeOrigin + performance.now();

/** Per request of one round: when its intent span ended, its decision was sent, and requireApproval resolved. */
export interface AgentTimes {
  ended: Record<string, number>;
  sent: Record<string, number>;
  resolved: Record<string, number>;
}

export interface Agents {
  target(endpoints: { api: string; otlp: string }): void;
  /** Starts n requireApproval calls at once; resolves with their ids once every intent span was accepted by Sluice. */
  request(n: number): Promise<string[]>;
  /** Approves every request of the last request() at once; resolves when every requireApproval has. */
  decide(): Promise<AgentTimes>;
  /**
   * Open-loop load: starts `rate` requireApproval calls a second for `seconds`,
   * each approved `decideAfterMs` after its intent span was accepted (a human
   * who answers at once); resolves when every call has.
   */
  stream(rate: number, seconds: number, decideAfterMs: number): Promise<AgentTimes>;
  close(): Promise<void>;
}

export async function startAgents(): Promise<Agents> {
  let api = '';
  let provider: BasicTracerProvider | undefined;
  const ended = new Map<string, number>();
  const stamp: SpanProcessor = {
    onStart() {},
    onEnd(span: ReadableSpan) {
      const id = span.attributes[ApprovalAttr.id];
      if (typeof id === 'string' && span.attributes[ApprovalAttr.phase] === 'request') ended.set(id, epochNow());
    },
    forceFlush: async () => {},
    shutdown: async () => {},
  };
  let current: { ids: string[]; waits: Array<Promise<unknown>>; resolved: Map<string, number> } | undefined;
  let seq = 0;
  const ask = (tp: BasicTracerProvider, onRequested: (id: string) => void) => {
    const i = seq++;
    return requireApproval({
      action: 'export_table',
      resource: `warehouse.t${i}`,
      reason: 'bench',
      arguments: { table: `t${i}`, rows: i },
      attributes: { 'enduser.id': `user${i}@example.com` },
      endpoint: api,
      token: BENCH_TOKENS.agent,
      tracerProvider: tp,
      timeoutMs: 120_000,
      onRequested,
    });
  };
  const approve = async (id: string) => {
    const res = await fetch(`${api}/v1/approvals/${id}/decisions`, {
      method: 'POST',
      headers: { authorization: `Bearer ${BENCH_TOKENS.decider}`, 'content-type': 'application/json' },
      body: '{"decision":"approve"}',
    });
    if (res.status !== 200) throw new Error(`decision answered ${res.status}: ${await res.text()}`);
    await res.arrayBuffer();
  };

  return {
    target(e) {
      api = e.api;
      provider = new BasicTracerProvider({
        resource: resourceFromAttributes({ 'service.name': 'bench-agent' }),
        spanProcessors: [stamp, new SimpleSpanProcessor(new OTLPTraceExporter({ url: e.otlp, concurrencyLimit: 10_000 }))],
      });
    },
    request(n) {
      if (!provider) throw new Error('agents: target() first');
      const tp = provider;
      const ids: string[] = [];
      const resolved = new Map<string, number>();
      return new Promise((resolveIds, reject) => {
        const waits = Array.from({ length: n }, () =>
          ask(tp, (id) => {
            ids.push(id);
            if (ids.length === n) resolveIds([...ids]);
          }).then((a) => void resolved.set(a.id, epochNow())),
        );
        for (const w of waits) w.catch(reject);
        current = { ids, waits, resolved };
      });
    },
    async decide() {
      if (!current) throw new Error('agents: request() first');
      const { ids, waits, resolved } = current;
      const sent = new Map<string, number>();
      await Promise.all(
        ids.map(async (id) => {
          sent.set(id, epochNow());
          await approve(id);
        }),
      );
      await Promise.all(waits);
      const pick = (m: Map<string, number>) => Object.fromEntries(ids.map((id) => [id, m.get(id)!]));
      return { ended: pick(ended), sent: pick(sent), resolved: pick(resolved) };
    },
    async stream(rate, seconds, decideAfterMs) {
      if (!provider) throw new Error('agents: target() first');
      const tp = provider;
      const ids: string[] = [];
      const sent = new Map<string, number>();
      const resolved = new Map<string, number>();
      const calls: Array<Promise<unknown>> = [];
      // A refused decision would leave its call waiting for the timeout: fail the run at once.
      let fail: (err: unknown) => void = () => {};
      const failed = new Promise<never>((_, reject) => (fail = reject));
      const t0 = performance.now();
      const total = Math.round(rate * seconds);
      // Start times on a fixed schedule, not "after the previous one": a slow
      // answer must not slow the arrivals down (no coordinated omission).
      for (let k = 0; k < total; k++) {
        const due = t0 + (k * 1000) / rate;
        const wait = due - performance.now();
        if (wait > 0) await new Promise((r) => setTimeout(r, wait));
        calls.push(
          ask(tp, (id) => {
            ids.push(id);
            setTimeout(() => {
              sent.set(id, epochNow());
              approve(id).catch(fail);
            }, decideAfterMs);
          }).then((a) => void resolved.set(a.id, epochNow())),
        );
      }
      await Promise.race([Promise.all(calls), failed]);
      const pick = (m: Map<string, number>) => Object.fromEntries(ids.map((id) => [id, m.get(id)!]));
      return { ended: pick(ended), sent: pick(sent), resolved: pick(resolved) };
    },
    async close() {
      await provider?.shutdown();
    },
  };
}

/** The fake Slack; onPosted(id, epoch ms) when a chat.postMessage for a request arrives. */
export async function startSlack(onPosted: (id: string, at: number) => void): Promise<{ url: string; close(): Promise<void> }> {
  const slack = await startFakeSlack({ botToken: BENCH_TOKENS.bot });
  slack.events.on('call', (c: SlackCall) => {
    if (c.method !== 'chat.postMessage') return;
    const actions = (c.args.blocks as Array<{ type: string; elements?: Array<{ value?: string }> }>).find((b) => b.type === 'actions');
    const id = actions?.elements?.[0]?.value;
    // c.at is performance.now() when the request arrived.
    if (id) onPosted(id, performance.timeOrigin + c.at);
  });
  return { url: slack.apiUrl, close: () => slack.close() };
}

// As a child process, driven by bench/approvals.ts over IPC: SLUICE_BENCH_CHILD=agents|slack.
type Msg = { op: 'target'; api: string; otlp: string } | { op: 'request'; n: number } | { op: 'decide' } | { op: 'stream'; rate: number; seconds: number; decideAfterMs: number } | { op: 'clock' } | { op: 'close' };
const role = process.env.SLUICE_BENCH_CHILD;
if (process.send && (role === 'agents' || role === 'slack')) {
  const send = (m: unknown) => process.send!(m);
  const agents = role === 'agents' ? await startAgents() : undefined;
  const slack = role === 'slack' ? await startSlack((id, at) => send({ op: 'posted', id, at })) : undefined;
  process.on('message', (m: Msg) => {
    void (async () => {
      try {
        if (m.op === 'clock') send({ op: 'clock', now: epochNow() });
        else if (m.op === 'target') agents!.target(m);
        else if (m.op === 'request') send({ op: 'request', ids: await agents!.request(m.n) });
        else if (m.op === 'decide') send({ op: 'decide', times: await agents!.decide() });
        else if (m.op === 'stream') send({ op: 'stream', times: await agents!.stream(m.rate, m.seconds, m.decideAfterMs) });
        else if (m.op === 'close') {
          await agents?.close();
          await slack?.close();
          send({ op: 'close' });
          process.disconnect();
        }
      } catch (err) {
        send({ op: 'error', message: (err as Error).stack ?? String(err) });
      }
    })();
  });
  send({ op: 'ready', slackUrl: slack?.url });
}
