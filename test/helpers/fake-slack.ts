// A fake Slack Web API on loopback that speaks Slack's wire contract: methods
// under /api/<method>, bearer token (or `token` field), form-urlencoded or
// JSON bodies with JSON-encoded `blocks`/`view`, answers shaped like Slack's
// (`{ ok: true, channel, ts, message }`, `{ ok: false, error }` with HTTP 200).
// Records every call; `signedInteraction` builds a request as Slack signs it.
import { createHmac } from 'node:crypto';
import { EventEmitter } from 'node:events';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';

export interface SlackCall {
  method: string;
  token: string | undefined;
  args: Record<string, any>;
  /** performance.now() when the request arrived. */
  at: number;
}

export interface FakeSlackUser {
  id: string;
  email?: string;
  name?: string;
  is_bot?: boolean;
}

export interface FakeSlack {
  /** Base URL for WebClient's slackApiUrl (ends with /api/). */
  apiUrl: string;
  calls: SlackCall[];
  users: Map<string, FakeSlackUser>;
  /** Resolves with the first recorded call (past or future) matching. */
  waitFor(method: string, match?: (c: SlackCall) => boolean): Promise<SlackCall>;
  callsOf(method: string): SlackCall[];
  /** Called on every request (the bench uses it). */
  events: EventEmitter;
  close(): Promise<void>;
}

const OBJECT_FIELDS = new Set(['blocks', 'attachments', 'view', 'metadata']);

export async function startFakeSlack(opts: { botToken: string; users?: FakeSlackUser[] }): Promise<FakeSlack> {
  const calls: SlackCall[] = [];
  const users = new Map((opts.users ?? []).map((u) => [u.id, u]));
  const events = new EventEmitter();
  events.setMaxListeners(0);
  let tsCounter = 0;
  const channelIds = new Map<string, string>();
  const channelId = (c: string) => {
    if (/^[CDG][A-Z0-9]{6,}$/.test(c)) return c;
    if (!channelIds.has(c)) channelIds.set(c, `C${String(1000000 + channelIds.size)}`);
    return channelIds.get(c)!;
  };
  const nextTs = () => `${Math.floor(Date.now() / 1000)}.${String(++tsCounter).padStart(6, '0')}`;

  const answer = (method: string, args: Record<string, any>): Record<string, unknown> => {
    switch (method) {
      case 'auth.test':
        return { ok: true, url: 'https://fake.slack.com/', team: 'Fake', user: 'sluice', team_id: 'T0000001', user_id: 'U0BOT', bot_id: 'B0BOT' };
      case 'chat.postMessage': {
        if (!args.channel) return { ok: false, error: 'channel_not_found' };
        if (!args.text && !args.blocks) return { ok: false, error: 'no_text' };
        const ts = nextTs();
        return { ok: true, channel: channelId(String(args.channel)), ts, message: { type: 'message', bot_id: 'B0BOT', text: args.text, blocks: args.blocks, ts } };
      }
      case 'chat.update':
        if (!args.channel || !args.ts) return { ok: false, error: 'message_not_found' };
        return { ok: true, channel: args.channel, ts: args.ts, text: args.text, message: { type: 'message', text: args.text, blocks: args.blocks } };
      case 'chat.postEphemeral':
        if (!args.channel || !args.user) return { ok: false, error: 'user_not_in_channel' };
        return { ok: true, message_ts: nextTs() };
      case 'users.info': {
        const u = users.get(String(args.user));
        if (!u) return { ok: false, error: 'user_not_found' };
        return {
          ok: true,
          user: { id: u.id, name: u.name ?? u.id, real_name: u.name, deleted: false, is_bot: u.is_bot ?? false, profile: { email: u.email, real_name: u.name } },
        };
      }
      case 'views.open':
        if (!args.trigger_id) return { ok: false, error: 'invalid_trigger_id' };
        if (!args.view) return { ok: false, error: 'invalid_arguments' };
        return { ok: true, view: { id: `V${++tsCounter}`, ...args.view } };
      default:
        return { ok: false, error: 'unknown_method' };
    }
  };

  const server: Server = createServer((req, res) => {
    const at = performance.now();
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const method = (req.url ?? '').split('?')[0].replace(/^\/api\//, '');
      const body = Buffer.concat(chunks).toString('utf8');
      let args: Record<string, any> = {};
      if ((req.headers['content-type'] ?? '').includes('application/json')) {
        args = body ? JSON.parse(body) : {};
      } else {
        for (const [k, v] of new URLSearchParams(body)) {
          args[k] = OBJECT_FIELDS.has(k) ? JSON.parse(v) : v;
        }
      }
      const auth = req.headers.authorization;
      const token = auth?.startsWith('Bearer ') ? auth.slice(7) : (args.token as string | undefined);
      const call: SlackCall = { method, token, args, at };
      calls.push(call);
      const out = token !== opts.botToken ? { ok: false, error: token ? 'invalid_auth' : 'not_authed' } : answer(method, args);
      res.writeHead(200, { 'content-type': 'application/json; charset=utf-8' });
      res.end(JSON.stringify(out));
      events.emit('call', call);
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const apiUrl = `http://127.0.0.1:${(server.address() as AddressInfo).port}/api/`;

  return {
    apiUrl,
    calls,
    users,
    events,
    callsOf: (method) => calls.filter((c) => c.method === method),
    waitFor(method, match = () => true) {
      const found = calls.find((c) => c.method === method && match(c));
      if (found) return Promise.resolve(found);
      return new Promise((resolve) => {
        const on = (c: SlackCall) => {
          if (c.method === method && match(c)) {
            events.off('call', on);
            resolve(c);
          }
        };
        events.on('call', on);
      });
    },
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

/** An interaction request exactly as Slack sends it: form body `payload=<json>`, v0 signature headers. */
export function signedInteraction(
  signingSecret: string,
  payload: unknown,
  opts: { timestamp?: number; secretOverride?: string } = {},
): { body: string; headers: Record<string, string> } {
  const body = new URLSearchParams({ payload: JSON.stringify(payload) }).toString();
  const ts = String(opts.timestamp ?? Math.floor(Date.now() / 1000));
  const sig = `v0=${createHmac('sha256', opts.secretOverride ?? signingSecret).update(`v0:${ts}:${body}`).digest('hex')}`;
  return {
    body,
    headers: { 'content-type': 'application/x-www-form-urlencoded', 'x-slack-request-timestamp': ts, 'x-slack-signature': sig },
  };
}

export async function sendInteraction(url: string, req: { body: string; headers: Record<string, string> }): Promise<{ status: number; body: string }> {
  const res = await fetch(url, { method: 'POST', headers: req.headers, body: req.body });
  return { status: res.status, body: await res.text() };
}

/** A block_actions payload for a click on one of Sluice's buttons. */
export function buttonClick(opts: { userId: string; actionId: 'sluice_approve' | 'sluice_deny'; approvalId: string; channel: string; ts: string; triggerId?: string }) {
  return {
    type: 'block_actions',
    user: { id: opts.userId, username: opts.userId, team_id: 'T0000001' },
    api_app_id: 'A0000001',
    token: 'legacy-verification-token',
    trigger_id: opts.triggerId ?? `${Date.now()}.${Math.floor(Math.random() * 1e9)}.abcdef`,
    team: { id: 'T0000001', domain: 'fake' },
    container: { type: 'message', message_ts: opts.ts, channel_id: opts.channel, is_ephemeral: false },
    channel: { id: opts.channel, name: 'approvals' },
    message: { type: 'message', ts: opts.ts, text: '' },
    response_url: 'https://hooks.slack.com/actions/T0000001/1/xyz',
    actions: [{ type: 'button', action_id: opts.actionId, block_id: 'sluice_decision', value: opts.approvalId, action_ts: String(Date.now() / 1000) }],
  };
}

/** A view_submission payload for the deny-reason modal. */
export function denySubmission(opts: { userId: string; privateMetadata: string; reason: string }) {
  return {
    type: 'view_submission',
    user: { id: opts.userId, username: opts.userId, team_id: 'T0000001' },
    api_app_id: 'A0000001',
    team: { id: 'T0000001', domain: 'fake' },
    view: {
      id: 'V0000001',
      type: 'modal',
      callback_id: 'sluice_deny_reason',
      private_metadata: opts.privateMetadata,
      state: { values: { reason: { reason: { type: 'plain_text_input', value: opts.reason } } } },
    },
  };
}
