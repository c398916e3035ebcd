// The approval pages over HTTP against a real engine and journal: sign-in
// (development users and OIDC code + PKCE against a real oidc-provider),
// sessions, CSRF, eligibility, escaping, the console and the redaction preview.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Fastify, { type FastifyInstance } from 'fastify';
import { pino } from 'pino';
import { createApprovalEngine } from '../../approvals/engine/engine.js';
import { openJournal } from '../../approvals/log/journal.js';
import type { ApprovalLog } from '../../approvals/log/types.js';
import { pagesConfigSchema } from '../../approvals/pages/config.js';
import { assertDevModeAllowed } from '../../approvals/pages/dev-users.js';
import { registerApprovalPages, type RedactionPreviewer } from '../../approvals/pages/routes.js';
import { createSessionCodec, safeReturnTo } from '../../approvals/pages/session.js';
import type { ApprovalEvent, OpenInput } from '../../approvals/types.js';
import { startOidcProvider, type TestOidcProvider } from '../helpers/oidc-provider.js';

const silent = pino({ level: 'silent' });
const HASH = 'b'.repeat(64);

const openInput = (id: string, over: Partial<OpenInput> = {}, minApprovals = 1): OpenInput => ({
  approvalId: id,
  actionHash: HASH,
  action: 'export_table',
  resource: 'warehouse.customers',
  reason: 'quarterly report',
  context: { 'sluice.action.arguments': '{"table":"customers","to":"<EMAIL>"}' },
  requester: 'dana@example.com',
  agent: 'report-agent',
  traceId: '0'.repeat(32),
  spanId: '1'.repeat(16),
  policy: { policy: 'prod', rule: 'exports', approvers: { groups: ['data-owners'], users: [] }, minApprovals, timeoutMs: 600_000, onTimeout: 'deny', channels: [] },
  ...over,
});

const devUsers = [
  { id: 'alice@example.com', name: 'Alice', groups: ['data-owners', 'sre'], password: 'alice-pw' },
  { id: 'bob@example.com', name: 'Bob', groups: ['data-owners'], password: 'bob-pw' },
  { id: 'dana@example.com', name: 'Dana', groups: ['data-owners'], password: 'dana-pw' },
  { id: 'mallory@example.com', name: 'Mallory', groups: ['interns'], password: 'mallory-pw' },
];

/** fetch with a cookie jar and no automatic redirects: what a browser keeps between requests. */
class Agent {
  readonly jar = new Map<string, string>();
  constructor(readonly base: string) {}
  async req(path: string, init: { method?: string; form?: Record<string, string>; headers?: Record<string, string> } = {}) {
    const url = path.startsWith('http') ? path : `${this.base}${path}`;
    const host = new URL(url).host;
    const cookies = [...this.jar].filter(([k]) => k.startsWith(`${host}|`)).map(([k, v]) => `${k.split('|')[1]}=${v}`);
    const res = await fetch(url, {
      method: init.method ?? (init.form ? 'POST' : 'GET'),
      redirect: 'manual',
      headers: { ...(cookies.length ? { cookie: cookies.join('; ') } : {}), ...(init.form ? { 'content-type': 'application/x-www-form-urlencoded' } : {}), ...init.headers },
      body: init.form ? new URLSearchParams(init.form).toString() : undefined,
    });
    for (const c of res.headers.getSetCookie()) {
      const [pair] = c.split(';');
      const eq = pair!.indexOf('=');
      const name = pair!.slice(0, eq);
      const value = pair!.slice(eq + 1);
      if (value === '' || /max-age=0|expires=thu, 01 jan 1970/i.test(c)) this.jar.delete(`${host}|${name}`);
      else this.jar.set(`${host}|${name}`, value);
    }
    return { status: res.status, location: res.headers.get('location') ?? '', text: await res.text(), headers: res.headers, setCookies: res.headers.getSetCookie() };
  }
  csrfFrom(page: string): string {
    const m = /name="_csrf" value="([^"]+)"/.exec(page);
    assert.ok(m, 'page carries a CSRF token');
    return m[1]!;
  }
}

interface Harness {
  app: FastifyInstance;
  base: string;
  engine: Awaited<ReturnType<typeof createApprovalEngine>>;
  log: ApprovalLog;
  events: ApprovalEvent[];
  close(): Promise<void>;
}

/** `pages` is the YAML-shaped section, parsed as config loading would. */
async function harness(pages: Record<string, unknown>, extra: { redactor?: RedactionPreviewer; listenHost?: string } = {}): Promise<Harness> {
  const dir = await mkdtemp(join(tmpdir(), 'sluice-pages-'));
  const log = await openJournal({ dir, logger: silent });
  const engine = await createApprovalEngine({ log, logger: silent });
  const events: ApprovalEvent[] = [];
  engine.onEvent((e) => events.push(e));
  const app = Fastify();
  const registered = await registerApprovalPages(app, { engine, config: pagesConfigSchema.parse(pages), logger: silent, listenHost: extra.listenHost ?? '127.0.0.1', redactor: extra.redactor });
  const base = await app.listen({ port: 0, host: '127.0.0.1' });
  return {
    app,
    base,
    engine,
    log,
    events,
    async close() {
      registered.stop();
      await app.close();
      await engine.close();
      await log.close();
      await rm(dir, { recursive: true, force: true });
    },
  };
}

async function devSignIn(agent: Agent, login: string, password: string, returnTo = '/approvals') {
  const form = await agent.req(`/approvals/auth/login?return_to=${encodeURIComponent(returnTo)}`);
  assert.equal(form.status, 200);
  const flow = /name="_flow" value="([^"]+)"/.exec(form.text)![1]!;
  return agent.req('/approvals/auth/dev-login', { form: { _flow: flow, return_to: returnTo, login, password } });
}

describe('approval pages config', () => {
  it('needs a way to sign in, and names it', () => {
    const r = pagesConfigSchema.safeParse({});
    assert.equal(r.success, false);
    assert.match(r.error!.issues[0]!.message, /approvals\.pages\.oidc/);
    assert.equal(pagesConfigSchema.safeParse({ dev_users: devUsers }).success, true);
    assert.equal(pagesConfigSchema.safeParse({ dev_users: [devUsers[0], devUsers[0]] }).success, false);
  });

  it('refuses development users beyond loopback unless forced', async () => {
    const c = pagesConfigSchema.parse({ dev_users: devUsers });
    assert.doesNotThrow(() => assertDevModeAllowed(c, '127.0.0.1'));
    assert.doesNotThrow(() => assertDevModeAllowed(c, '::1'));
    assert.throws(() => assertDevModeAllowed(c, '0.0.0.0'), /development only.*allow_dev_users_on_network/s);
    assert.throws(() => assertDevModeAllowed(c, '10.1.2.3'), /beyond loopback/);
    assert.doesNotThrow(() => assertDevModeAllowed({ ...c, allow_dev_users_on_network: true }, '0.0.0.0'));
    await assert.rejects(harness({ dev_users: devUsers }, { listenHost: '0.0.0.0' }), /development only/);
  });

  it('only returns to the pages after sign-in (no open redirect)', () => {
    assert.equal(safeReturnTo('/approvals/abc?verdict=approve'), '/approvals/abc?verdict=approve');
    for (const bad of ['https://evil.example/approvals', '//evil.example/approvals', '/approvalsx', '/\\evil', 42, undefined]) assert.equal(safeReturnTo(bad), '/approvals');
  });

  it('session cookies are tamper-evident and expire', () => {
    const codec = createSessionCodec('s'.repeat(32));
    const sealed = codec.sealSession({ id: 'a@example.com', groups: ['x'], via: 'dev' }, 60_000, 1000);
    assert.equal(codec.openSession(sealed, 2000)?.identity.id, 'a@example.com');
    assert.equal(codec.openSession(sealed, 61_001), undefined, 'expired');
    const [body, mac] = sealed.split('.');
    const forged = Buffer.from(JSON.stringify({ ...JSON.parse(Buffer.from(body!, 'base64url').toString()), identity: { id: 'a@example.com', groups: ['admins'], via: 'dev' } })).toString('base64url');
    assert.equal(codec.openSession(`${forged}.${mac}`, 2000), undefined, 'altered groups');
    assert.equal(createSessionCodec('t'.repeat(32)).openSession(sealed, 2000), undefined, 'other secret');
  });
});

describe('approval pages (development users)', () => {
  let h: Harness;
  const redactor: RedactionPreviewer = {
    redactText(text) {
      const findings = [...text.matchAll(/[a-z]+@[a-z.]+/g)].map((m) => ({ start: m.index!, end: m.index! + m[0].length, type: 'email', rule: 'pii.email' }));
      let out = text;
      for (const f of [...findings].reverse()) out = `${out.slice(0, f.start)}<EMAIL>${out.slice(f.end)}`;
      return { text: out, findings };
    },
  };
  before(async () => {
    h = await harness({ dev_users: devUsers, console_groups: ['sre'] }, { redactor });
  });
  after(() => h.close());

  it('sends the signed-out to sign in, and back where they were going', async () => {
    const a = new Agent(h.base);
    const r = await a.req('/approvals/some-id?verdict=approve');
    assert.equal(r.status, 302);
    assert.equal(r.location, `/approvals/auth/login?return_to=${encodeURIComponent('/approvals/some-id?verdict=approve')}`);
    const page = await a.req(r.location);
    assert.match(page.text, /DEVELOPMENT MODE/);
    assert.match(page.headers.get('content-security-policy') ?? '', /default-src 'none'/);
    assert.equal((await devSignIn(a, 'alice@example.com', 'wrong')).status, 401);
    const ok = await devSignIn(a, 'alice@example.com', 'alice-pw', '/approvals/some-id?verdict=approve');
    assert.equal(ok.status, 303);
    assert.equal(ok.location, '/approvals/some-id?verdict=approve');
    const cookie = ok.setCookies.find((c) => c.startsWith('sluice_session='))!;
    assert.match(cookie, /HttpOnly/i);
    assert.match(cookie, /SameSite=Lax/i);
    assert.doesNotMatch(cookie, /Secure/i, 'plain http on loopback');
  });

  it('a forged or missing session cookie is signed out', async () => {
    const a = new Agent(h.base);
    await devSignIn(a, 'alice@example.com', 'alice-pw');
    const key = [...a.jar.keys()].find((k) => k.endsWith('|sluice_session'))!;
    a.jar.set(key, `${a.jar.get(key)!.slice(0, -3)}AAA`);
    assert.equal((await a.req('/approvals')).status, 302);
  });

  it('shows the full, escaped context; approves with a valid CSRF token', async () => {
    await h.engine.open(openInput('p1', { reason: '<script>alert(1)</script> & "quotes"', context: { 'sluice.action.arguments': '{"to":"<EMAIL>"}', '<img src=x>': 'x' } }));
    const a = new Agent(h.base);
    await devSignIn(a, 'alice@example.com', 'alice-pw');
    const inbox = await a.req('/approvals');
    assert.equal(inbox.status, 200);
    assert.match(inbox.text, /href="\/approvals\/p1"/);
    assert.match(inbox.text, /you can decide/);
    const page = await a.req('/approvals/p1');
    assert.equal(page.status, 200);
    assert.doesNotMatch(page.text, /<script>alert/);
    assert.doesNotMatch(page.text, /<img src=x>/);
    assert.match(page.text, /&lt;script&gt;alert\(1\)&lt;\/script&gt; &amp; &quot;quotes&quot;/);
    assert.match(page.text, /&lt;EMAIL&gt;/);
    for (const label of ['report-agent', 'dana@example.com', 'export_table', 'warehouse.customers', 'prod / exports', 'group data-owners', 'left']) assert.ok(page.text.includes(label), label);
    const done = await a.req('/approvals/p1/decision', { form: { _csrf: a.csrfFrom(page.text), verdict: 'approve', comment: 'fine <b>by</b> me' } });
    assert.equal(done.status, 303);
    assert.equal(h.engine.get('p1')?.state, 'approved');
    const rec = h.engine.get('p1')!.approvals[0]!;
    assert.deepEqual([rec.by.id, rec.by.via, rec.channel, rec.comment], ['alice@example.com', 'dev', 'page', 'fine <b>by</b> me']);
    const after = await a.req(done.location);
    assert.match(after.text, /data-state="approved"/);
    assert.match(after.text, /data-type="approved"/, 'audit trail');
    assert.match(after.text, /fine &lt;b&gt;by&lt;\/b&gt; me/);
  });

  it('refuses a forged or missing CSRF token and a foreign Origin, deciding nothing', async () => {
    await h.engine.open(openInput('p2'));
    const a = new Agent(h.base);
    await devSignIn(a, 'bob@example.com', 'bob-pw');
    const page = await a.req('/approvals/p2');
    const token = a.csrfFrom(page.text);
    const before = h.events.length;
    for (const form of [{ verdict: 'approve' }, { _csrf: `${token.slice(0, -2)}xx`, verdict: 'approve' }] as Array<Record<string, string>>) {
      const r = await a.req('/approvals/p2/decision', { form });
      assert.equal(r.status, 403);
      assert.match(r.text, /CSRF/);
    }
    // Another session's valid token is no good here either.
    const other = new Agent(h.base);
    await devSignIn(other, 'alice@example.com', 'alice-pw');
    const otherToken = other.csrfFrom((await other.req('/approvals/p2')).text);
    assert.equal((await a.req('/approvals/p2/decision', { form: { _csrf: otherToken, verdict: 'approve' } })).status, 403);
    assert.equal((await a.req('/approvals/p2/decision', { form: { _csrf: token, verdict: 'approve' }, headers: { origin: 'https://evil.example' } })).status, 403);
    assert.equal(h.engine.get('p2')?.state, 'pending');
    assert.equal(h.events.length, before, 'nothing reached the engine');
    assert.equal((await a.req('/approvals/p2/decision', { form: { _csrf: token, verdict: 'deny', comment: 'no' } })).status, 303);
    assert.equal(h.engine.get('p2')?.state, 'denied');
  });

  it('the requester and someone outside the approver groups cannot decide; the engine audits both', async () => {
    await h.engine.open(openInput('p3'));
    for (const [login, pw, reason] of [
      ['dana@example.com', 'dana-pw', /requester cannot decide/],
      ['mallory@example.com', 'mallory-pw', /not an approver/],
    ] as const) {
      const a = new Agent(h.base);
      await devSignIn(a, login, pw);
      const page = await a.req('/approvals/p3');
      assert.match(page.text, /id="not-eligible"/);
      assert.doesNotMatch(page.text, /id="approve"/);
      // Even a hand-made POST with this session's own valid token is refused by the engine.
      const r = await a.req('/approvals/p3/decision', { form: { _csrf: a.csrfFrom(page.text), verdict: 'approve' } });
      assert.equal(r.status, 403);
      assert.match(r.text, reason);
      assert.ok(h.events.some((e) => e.type === 'decision_refused' && e.approvalId === 'p3' && e.actor?.id === login && e.channel === 'page'));
    }
    assert.equal(h.engine.get('p3')?.state, 'pending');
  });

  it('min_approvals: two different approvers, each counted once', async () => {
    await h.engine.open(openInput('p4', {}, 2));
    const alice = new Agent(h.base);
    await devSignIn(alice, 'alice@example.com', 'alice-pw');
    const t = alice.csrfFrom((await alice.req('/approvals/p4')).text);
    assert.equal((await alice.req('/approvals/p4/decision', { form: { _csrf: t, verdict: 'approve' } })).status, 303);
    const again = await alice.req('/approvals/p4');
    assert.match(again.text, /id="already"/);
    assert.match(again.text, /1 of 2/);
    assert.equal(h.engine.get('p4')?.state, 'pending');
    const bob = new Agent(h.base);
    await devSignIn(bob, 'bob@example.com', 'bob-pw', '/approvals/p4?verdict=deny');
    const bobPage = await bob.req('/approvals/p4?verdict=deny');
    assert.ok(bobPage.text.indexOf('id="deny"') < bobPage.text.indexOf('id="approve"'), 'the button the user came for comes first');
    assert.equal((await bob.req('/approvals/p4/decision', { form: { _csrf: bob.csrfFrom(bobPage.text), verdict: 'approve' } })).status, 303);
    assert.equal(h.engine.get('p4')?.state, 'approved');
  });

  it('console: events with filters, ungated actions, and a redaction preview that needs CSRF', async () => {
    await h.engine.recordViolation('ungated', { policy: 'prod', rule: 'grant-role', action: 'grant_role', agent: 'rogue-agent', requester: 'eve@example.com', reason: 'rule "grant-role" requires approval, but the span carries no sluice.approval.id', traceId: 'f'.repeat(32) });
    const outsider = new Agent(h.base);
    await devSignIn(outsider, 'bob@example.com', 'bob-pw');
    assert.equal((await outsider.req('/approvals/console')).status, 403, 'console_groups: sre only');
    const a = new Agent(h.base);
    await devSignIn(a, 'alice@example.com', 'alice-pw');
    const all = await a.req('/approvals/console');
    assert.equal(all.status, 200);
    assert.match(all.text, /<table id="ungated">[\s\S]*grant_role[\s\S]*rogue-agent/);
    const denied = await a.req('/approvals/console?state=denied');
    assert.match(denied.text, /href="\/approvals\/p2"/);
    assert.doesNotMatch(denied.text, /<table id="events">[\s\S]*href="\/approvals\/p1"[\s\S]*<\/table>[\s\S]*Ungated/);
    const byBob = await a.req('/approvals/console?approver=bob');
    assert.match(byBob.text, /Bob \(bob@example.com\)/);
    assert.doesNotMatch(byBob.text.split('<h2>Ungated')[0]!, /Alice \(alice@example.com\)/);

    const secret = 'write to carol@example.com now';
    assert.equal((await a.req('/approvals/console/preview', { form: { text: secret } })).status, 403);
    const pv = await a.req('/approvals/console/preview', { form: { _csrf: a.csrfFrom(all.text), text: secret } });
    assert.equal(pv.status, 200);
    assert.match(pv.text, /<pre id="preview-output">write to &lt;EMAIL&gt; now<\/pre>/);
    assert.match(pv.text, /pii\.email/);
    assert.equal(pv.headers.get('cache-control'), 'no-store');
    assert.equal(h.events.some((e) => JSON.stringify(e).includes('carol@')), false, 'the preview input is not recorded');
  });

  it('signs out with CSRF', async () => {
    const a = new Agent(h.base);
    await devSignIn(a, 'alice@example.com', 'alice-pw');
    const page = await a.req('/approvals');
    assert.equal((await a.req('/approvals/auth/logout', { form: {} })).status, 403);
    assert.equal((await a.req('/approvals/auth/logout', { form: { _csrf: a.csrfFrom(page.text) } })).status, 200);
    assert.equal((await a.req('/approvals')).status, 302);
  });
});

describe('approval pages behind TLS', () => {
  it('sets __Host- Secure session cookies when public_url is https, and checks Origin against it', async () => {
    const h = await harness({ dev_users: devUsers, public_url: 'https://sluice.example.com' });
    try {
      const a = new Agent(h.base);
      const ok = await devSignIn(a, 'alice@example.com', 'alice-pw');
      assert.equal(ok.status, 303);
      const cookie = ok.setCookies.find((c) => c.startsWith('__Host-sluice_session='));
      assert.ok(cookie, 'a __Host- cookie');
      assert.match(cookie, /; Secure/i);
      assert.match(cookie, /; Path=\//);
      assert.match(cookie, /HttpOnly/i);
      await h.engine.open(openInput('t1'));
      const page = await a.req('/approvals/t1');
      const form = { _csrf: a.csrfFrom(page.text), verdict: 'approve' };
      assert.equal((await a.req('/approvals/t1/decision', { form, headers: { origin: h.base } })).status, 403, 'Origin must be the public one');
      assert.equal((await a.req('/approvals/t1/decision', { form, headers: { origin: 'https://sluice.example.com' } })).status, 303);
    } finally {
      await h.close();
    }
  });
});

describe('approval pages (OpenID Connect, authorization code + PKCE)', () => {
  let idp: TestOidcProvider;
  let h: Harness;
  const users = [
    { sub: 'u-alice', email: 'alice@example.com', name: 'Alice', groups: ['data-owners'] },
    { sub: 'u-dana', email: 'dana@example.com', name: 'Dana', groups: ['data-owners'] },
  ];

  before(async () => {
    idp = await startOidcProvider({ users });
    h = await harness({ oidc: { issuer: idp.issuer, client_id: 'sluice', client_secret: 'sluice-secret-0123456789', scopes: ['openid', 'email', 'profile', 'groups'], allow_insecure_http: true } });
    idp.addClient({ client_id: 'sluice', client_secret: 'sluice-secret-0123456789', redirect_uris: [`${h.base}/approvals/auth/callback`] });
  });
  after(async () => {
    await h.close();
    await idp.close();
  });

  /** Follows the IdP's redirects and submits its login form as a browser would. */
  async function ssoSignIn(a: Agent, login: string, returnTo: string) {
    let r = await a.req(`/approvals/auth/login?return_to=${encodeURIComponent(returnTo)}`);
    assert.equal(r.status, 302);
    const authz = new URL(r.location);
    assert.equal(authz.origin, idp.issuer);
    assert.equal(authz.searchParams.get('code_challenge_method'), 'S256');
    assert.ok(authz.searchParams.get('code_challenge'));
    assert.ok(authz.searchParams.get('state'));
    assert.ok(authz.searchParams.get('nonce'));
    r = await a.req(r.location);
    for (let hops = 0; hops < 10 && !r.location.startsWith(h.base); hops++) {
      if (r.status >= 300 && r.status < 400) {
        r = await a.req(new URL(r.location, idp.issuer).href);
        continue;
      }
      const action = /<form[^>]*action="([^"]+)"/.exec(r.text);
      assert.ok(action, `the IdP shows a form (status ${r.status})`);
      r = await a.req(new URL(action[1]!.replace(/&amp;/g, '&'), idp.issuer).href, { form: { prompt: 'login', login, password: 'any' } });
    }
    assert.match(r.location, /\/approvals\/auth\/callback\?/);
    return { callback: r.location, finish: () => a.req(r.location) };
  }

  it('signs in with the code flow and PKCE; groups come from the groups claim', async () => {
    await h.engine.open(openInput('o1'));
    const a = new Agent(h.base);
    const { finish } = await ssoSignIn(a, 'u-alice', '/approvals/o1');
    const done = await finish();
    assert.equal(done.status, 303);
    assert.equal(done.location, '/approvals/o1');
    const page = await a.req('/approvals/o1');
    assert.match(page.text, /id="whoami"[^>]*>Alice</);
    assert.match(page.text, /id="approve"/, 'eligible through group data-owners');
    assert.equal((await a.req('/approvals/o1/decision', { form: { _csrf: a.csrfFrom(page.text), verdict: 'approve' } })).status, 303);
    const by = h.engine.get('o1')!.approvals[0]!.by;
    assert.deepEqual([by.id, by.via, by.groups], ['alice@example.com', 'oidc', ['data-owners']]);
  });

  it('the requester signed in through SSO cannot approve their own request', async () => {
    await h.engine.open(openInput('o2'));
    const a = new Agent(h.base);
    await (await ssoSignIn(a, 'u-dana', '/approvals/o2')).finish();
    const page = await a.req('/approvals/o2');
    assert.match(page.text, /requester cannot decide their own request/);
    assert.equal((await a.req('/approvals/o2/decision', { form: { _csrf: a.csrfFrom(page.text), verdict: 'approve' } })).status, 403);
  });

  it('refuses a callback whose state does not match the one this browser started', async () => {
    const a = new Agent(h.base);
    const { callback } = await ssoSignIn(a, 'u-alice', '/approvals');
    const u = new URL(callback);
    u.searchParams.set('state', 'forged-state');
    const r = await a.req(u.href);
    assert.equal(r.status, 401);
    assert.equal(r.setCookies.some((c) => c.startsWith('sluice_session=') && !/Max-Age=0/i.test(c)), false);
    // And a callback replayed in a browser that never started a sign-in.
    const stranger = new Agent(h.base);
    assert.equal((await stranger.req(callback)).status, 400);
  });
});
