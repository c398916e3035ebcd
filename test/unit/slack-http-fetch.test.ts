// The fetch WebClient uses for Slack (node:http keep-alive instead of undici):
// what WebClient reads from a response is there, an abort stops the request,
// and keep-alive reuses the connection.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { WebClient } from '@slack/web-api';
import { createSlackFetch } from '../../approvals/channels/slack/http-fetch.js';

async function server(handler: (req: IncomingMessage, body: string, res: ServerResponse) => void) {
  const sockets = new Set<unknown>();
  const s = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => handler(req, Buffer.concat(chunks).toString('utf8'), res));
  });
  s.on('connection', (c) => sockets.add(c));
  await new Promise<void>((r) => s.listen(0, '127.0.0.1', r));
  return {
    url: `http://127.0.0.1:${(s.address() as AddressInfo).port}`,
    connections: () => sockets.size,
    close: () => new Promise<void>((r) => (s.closeAllConnections(), s.close(() => r()))),
  };
}

test('POSTs the body and headers as given; the response has status, headers and body', async () => {
  const seen: Array<{ method?: string; url?: string; type?: string; auth?: string; body: string }> = [];
  const srv = await server((req, body, res) => {
    seen.push({ method: req.method, url: req.url, type: req.headers['content-type'], auth: req.headers.authorization, body });
    res.writeHead(429, { 'content-type': 'application/json; charset=utf-8', 'retry-after': '7' });
    res.end('{"ok":false,"error":"ratelimited"}');
  });
  try {
    const res = await createSlackFetch()(`${srv.url}/api/chat.postMessage`, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded', Authorization: 'Bearer xoxb-1' },
      body: 'channel=C1&text=h%C3%A9',
    });
    assert.equal(res.status, 429);
    assert.equal(res.headers.get('retry-after'), '7');
    assert.equal(res.headers.get('content-type'), 'application/json; charset=utf-8');
    assert.deepEqual(await res.json(), { ok: false, error: 'ratelimited' });
    assert.deepEqual(seen, [{ method: 'POST', url: '/api/chat.postMessage', type: 'application/x-www-form-urlencoded', auth: 'Bearer xoxb-1', body: 'channel=C1&text=h%C3%A9' }]);
  } finally {
    await srv.close();
  }
});

test('an abort rejects the call and drops the request', async () => {
  let arrived!: () => void;
  const got = new Promise<void>((r) => (arrived = r));
  const srv = await server(() => arrived()); // never answers
  try {
    const ctl = new AbortController();
    const call = createSlackFetch()(`${srv.url}/api/chat.update`, { method: 'POST', body: 'x=1', signal: ctl.signal });
    await got;
    ctl.abort(new Error('timed out'));
    await assert.rejects(call, /timed out/);
  } finally {
    await srv.close();
  }
});

test('WebClient on it: calls succeed over one kept-alive connection', async () => {
  const srv = await server((_req, body, res) => {
    const args = Object.fromEntries(new URLSearchParams(body));
    res.writeHead(200, { 'content-type': 'application/json' });
    res.end(JSON.stringify({ ok: true, channel: args.channel, ts: '1.000001', blocks: JSON.parse(args.blocks ?? '[]') }));
  });
  try {
    const client = new WebClient('xoxb-1', { slackApiUrl: `${srv.url}/api/`, fetch: createSlackFetch(), retryConfig: { retries: 0 } });
    for (let i = 0; i < 3; i++) {
      const r = await client.chat.postMessage({ channel: 'C1', text: 't', blocks: [{ type: 'section', text: { type: 'mrkdwn', text: `n${i}` } }] });
      assert.equal(r.ok, true);
      assert.equal(r.channel, 'C1');
      assert.deepEqual((r as unknown as { blocks: unknown }).blocks, [{ type: 'section', text: { type: 'mrkdwn', text: `n${i}` } }]);
    }
    assert.equal(srv.connections(), 1);
  } finally {
    await srv.close();
  }
});
