// Everything outside Sluice in bench/approvals.ts: agents (the real
// OpenTelemetry SDK + requireApproval), a fake Slack on loopback, and the
// approver who POSTs decisions. bench/approvals.ts runs it in a child process
// (as in production, the agents' and Slack's CPU is not Sluice's event loop;
// both processes still share the machine's cores) or, with --same-process,
// inside its own. Every timestamp is epoch milliseconds with sub-millisecond
// resolution (performance.timeOrigin + performance.now()).
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

/** Per request of one round: when its intent span ended, Slack got the post, the decision was sent, requireApproval resolved. */
export interface RoundTimes {
  ids: string[];
  ended: Record<string, number>;
  posted: Record<string, number>;
  sent: Record<string, number>;
  resolved: Record<string, number>;
}

export interface World {
  slackUrl: string;
  target(endpoints: { api: string; otlp: string }): void;
  round(n: number): Promise<RoundTimes>;
  close(): Promise<void>;
}

export async function startWorld(): Promise<World> {
  const slack = await startFakeSlack({ botToken: BENCH_TOKENS.bot });
  let api = '';
  let provider: BasicTracerProvider | undefined;
  const ended = new Map<string, number>();
  const posted = new Map<string, number>();
  const stamp: SpanProcessor = {
    onStart() {},
    onEnd(span: ReadableSpan) {
      const id = span.attributes[ApprovalAttr.id];
      if (typeof id === 'string' && span.attributes[ApprovalAttr.phase] === 'request') ended.set(id, epochNow());
    },
    forceFlush: async () => {},
    shutdown: async () => {},
  };
  slack.events.on('call', (c: SlackCall) => {
    if (c.method !== 'chat.postMessage') return;
    const actions = (c.args.blocks as Array<{ type: string; elements?: Array<{ value?: string }> }>).find((b) => b.type === 'actions');
    const id = actions?.elements?.[0]?.value;
    // c.at is performance.now() when the request arrived.
    if (id) posted.set(id, performance.timeOrigin + c.at);
  });

  async function round(n: number): Promise<RoundTimes> {
    if (!provider) throw new Error('world: target() first');
    const tp = provider;
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
    const resolved = new Map<string, number>();
    const waits = Array.from({ length: n }, (_, i) =>
      requireApproval({
        action: 'export_table',
        resource: `warehouse.t${i}`,
        reason: 'bench',
        arguments: { table: `t${i}`, rows: i },
        attributes: { 'enduser.id': `user${i}@example.com` },
        endpoint: api,
        token: BENCH_TOKENS.agent,
        tracerProvider: tp,
        timeoutMs: 120_000,
        onRequested: (id) => {
          ids.push(id);
          check();
        },
      }).then((a) => resolved.set(a.id, epochNow())),
    );
    await allPosted;
    // Every agent is now parked on the long-poll; decide them all at once.
    const sent = new Map<string, number>();
    await Promise.all(
      ids.map(async (id) => {
        sent.set(id, epochNow());
        const res = await fetch(`${api}/v1/approvals/${id}/decisions`, {
          method: 'POST',
          headers: { authorization: `Bearer ${BENCH_TOKENS.decider}`, 'content-type': 'application/json' },
          body: '{"decision":"approve"}',
        });
        if (res.status !== 200) throw new Error(`decision answered ${res.status}`);
        await res.arrayBuffer();
      }),
    );
    await Promise.all(waits);
    const pick = (m: Map<string, number>) => Object.fromEntries(ids.map((id) => [id, m.get(id)!]));
    return { ids, ended: pick(ended), posted: pick(posted), sent: pick(sent), resolved: pick(resolved) };
  }

  return {
    slackUrl: slack.apiUrl,
    target(e) {
      api = e.api;
      provider = new BasicTracerProvider({
        resource: resourceFromAttributes({ 'service.name': 'bench-agent' }),
        spanProcessors: [stamp, new SimpleSpanProcessor(new OTLPTraceExporter({ url: e.otlp, concurrencyLimit: 10_000 }))],
      });
    },
    round,
    async close() {
      await provider?.shutdown();
      await slack.close();
    },
  };
}

// As a child process: driven by bench/approvals.ts over IPC.
type Msg = { op: 'target'; api: string; otlp: string } | { op: 'round'; n: number } | { op: 'clock' } | { op: 'close' };
if (process.send && process.env.SLUICE_BENCH_WORLD === '1') {
  const world = await startWorld();
  const send = (m: unknown) => process.send!(m);
  process.on('message', (m: Msg) => {
    void (async () => {
      try {
        if (m.op === 'target') world.target(m);
        else if (m.op === 'clock') send({ op: 'clock', now: epochNow() });
        else if (m.op === 'round') send({ op: 'round', times: await world.round(m.n) });
        else if (m.op === 'close') {
          await world.close();
          send({ op: 'close' });
          process.disconnect();
        }
      } catch (err) {
        send({ op: 'error', message: (err as Error).stack ?? String(err) });
      }
    })();
  });
  send({ op: 'ready', slackUrl: world.slackUrl });
}
