// The approval pages as a fastify plugin on the Sluice API port: inbox
// (`/approvals`), decision page (`/approvals/{id}`), console, and sign-in
// (OIDC authorization code + PKCE, or development users). Decisions go to
// the same engine.decide as the API and Slack, so eligibility (no
// self-approval, groups, min_approvals) and the audit of refusals are the
// engine's. Every state-changing POST carries a CSRF token bound to the
// session; sessions are signed cookies (HttpOnly, SameSite=Lax, Secure on TLS).
import { randomBytes } from 'node:crypto';
import cookie from '@fastify/cookie';
import formbody from '@fastify/formbody';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import type { Logger } from 'pino';
import { z } from 'zod';
import type { ApprovalEngine, ApprovalEvent, ApprovalRequest, Identity } from '../types.js';
import type { PagesConfig } from './config.js';
import { assertDevModeAllowed, createDevDirectory } from './dev-users.js';
import { html, layout } from './html.js';
import { createOidcSignIn, SignInError } from './oidc.js';
import { createRecentEvents, type EventFilter } from './recent-events.js';
import { createSessionCodec, safeReturnTo, SessionTooLargeError, type Session } from './session.js';
import { consoleBody, CONSOLE_STATES, decisionBody, inboxBody, signInBody, type Notice, type PreviewResult } from './views.js';

/** What the redaction preview needs; `createRedactor(config)` of processors/redaction fits. */
export interface RedactionPreviewer {
  redactText(text: string): { text: string; findings: Array<{ start: number; end: number; type: string; rule: string }> };
}

export interface ApprovalPagesOptions {
  engine: ApprovalEngine;
  config: PagesConfig;
  logger: Logger;
  /** The address the API server binds (`service.api.endpoint` host): development users are refused beyond loopback. */
  listenHost: string | undefined;
  /** The configured redaction rules, for the console's preview. */
  redactor?: RedactionPreviewer;
  /** Past approval events for the console and audit trails (e.g. the journal's `readAll()`); read once at start. */
  history?: AsyncIterable<ApprovalEvent>;
  now?: () => number;
}

export interface ApprovalPages {
  stop(): void;
}

const SESSION_COOKIE = 'sluice_session';
const FLOW_COOKIE = 'sluice_flow';
const SECURITY_HEADERS = {
  'content-security-policy': "default-src 'none'; style-src 'unsafe-inline'; img-src 'self' data:; form-action 'self'; frame-ancestors 'none'; base-uri 'none'",
  'x-content-type-options': 'nosniff',
  'x-frame-options': 'DENY',
  'referrer-policy': 'same-origin',
  'cache-control': 'no-store',
};

const idParams = z.object({ id: z.string().min(1).max(200) });
const decisionForm = z.object({
  _csrf: z.string().max(200).optional(),
  verdict: z.enum(['approve', 'deny'], { error: 'choose Approve or Deny' }),
  comment: z.string().max(2000, 'a comment may have at most 2000 characters').default(''),
});
const filterQuery = z.object({
  state: z.enum(CONSOLE_STATES).optional().catch(undefined),
  policy: z.string().max(200).optional(),
  agent: z.string().max(200).optional(),
  approver: z.string().max(200).optional(),
});

export async function registerApprovalPages(app: FastifyInstance, opts: ApprovalPagesOptions): Promise<ApprovalPages> {
  const { engine, config } = opts;
  const logger = opts.logger.child({ component: 'approval-pages' });
  assertDevModeAllowed(config, opts.listenHost);
  const devMode = config.dev_users.length > 0;
  if (devMode) logger.warn({ users: config.dev_users.length }, 'approval pages: DEVELOPMENT MODE, users and passwords from the config file; not for production');
  if (!config.session_secret) logger.info('approval pages: no session_secret; sign-ins end when Sluice restarts and are not shared between replicas');

  const now = opts.now ?? Date.now;
  const codec = createSessionCodec(config.session_secret);
  const dev = createDevDirectory(config.dev_users);
  const signIn = config.oidc ? createOidcSignIn(config.oidc) : undefined;
  const recent = createRecentEvents(engine, config.console_events);
  if (opts.history) {
    const seen: ApprovalEvent[] = [];
    for await (const ev of opts.history) seen.push(ev);
    // The live subscription may already hold the newest; keep order by seq and skip those.
    const live = new Set(recent.list({ limit: config.console_events }).map((x) => x.event.seq));
    for (const ev of seen.slice(-config.console_events)) if (!live.has(ev.seq)) recent.add(ev, engine.get(ev.approvalId));
  }

  const base = (req: FastifyRequest) => config.public_url ?? `${req.protocol}://${req.host}`;
  const secure = (req: FastifyRequest) => (config.cookie_secure === 'auto' ? base(req).startsWith('https:') || req.protocol === 'https' : config.cookie_secure);
  const sessionCookieName = (req: FastifyRequest) => (secure(req) ? `__Host-${SESSION_COOKIE}` : SESSION_COOKIE);
  const redirectUri = (req: FastifyRequest) => config.oidc?.redirect_uri ?? `${base(req)}/approvals/auth/callback`;
  const cookieOpts = (req: FastifyRequest, maxAgeSec: number, path = '/') => ({ httpOnly: true, secure: secure(req), sameSite: 'lax' as const, path, maxAge: maxAgeSec });

  const sessionOf = (req: FastifyRequest): Session | undefined => codec.openSession(req.cookies[sessionCookieName(req)], now());
  const canSeeConsole = (i: Identity) => config.console_groups.length === 0 || i.groups.some((g) => config.console_groups.some((c) => c.toLowerCase() === g.toLowerCase()));

  const page = (reply: FastifyReply, status: number, title: string, body: ReturnType<typeof html>, s?: Session) =>
    reply
      .code(status)
      .type('text/html; charset=utf-8')
      .send(layout({ title, user: s ? s.identity.name ?? s.identity.id : undefined, devMode, csrf: s ? codec.csrfToken(s) : undefined, showConsole: s ? canSeeConsole(s.identity) : false }, body));

  const toSignIn = (req: FastifyRequest, reply: FastifyReply) => reply.redirect(`/approvals/auth/login?return_to=${encodeURIComponent(safeReturnTo(req.url))}`, 302);

  /** For POSTs: a session, a matching CSRF token and, when the browser says, our own origin. */
  const guardPost = (req: FastifyRequest, reply: FastifyReply, token: unknown): Session | undefined => {
    const s = sessionOf(req);
    if (!s) {
      void page(reply, 401, 'Signed out', html`<div class="notice err" id="error">Your sign-in has expired. <a href="/approvals/auth/login?return_to=${safeReturnTo(req.url)}">Sign in again</a>.</div>`);
      return undefined;
    }
    const origin = req.headers.origin;
    const originOk = !origin || origin === 'null' || origin === new URL(base(req)).origin;
    if (!originOk || !codec.checkCsrf(s, token)) {
      logger.warn({ route: req.routeOptions.url, identity: s.identity.id, originOk }, 'approval pages: refused a POST with a missing or forged CSRF token');
      void page(reply, 403, 'Refused', html`<div class="notice err" id="error">This form was not issued to your session (CSRF check failed), so nothing was done. Reload the page and try again.</div>`, s);
      return undefined;
    }
    return s;
  };

  const trailOf = (id: string) => recent.list({ approvalId: id, limit: 500 }).map((x) => x.event);

  const renderDecision = (reply: FastifyReply, status: number, r: ApprovalRequest, s: Session, extra: { preferred?: 'approve' | 'deny'; notices?: Notice[] } = {}) =>
    page(reply, status, `${r.action} — decision`, decisionBody({ request: r, me: s.identity, csrf: codec.csrfToken(s), now: now(), trail: trailOf(r.id), ...extra }), s);

  await app.register(async (scope) => {
    await scope.register(cookie);
    await scope.register(formbody, { bodyLimit: Math.max(64 * 1024, config.preview_max_chars * 4 + 4096) });
    scope.addHook('onSend', async (_req, reply, payload) => {
      reply.headers(SECURITY_HEADERS);
      return payload;
    });

    const renderConsole = (reply: FastifyReply, status: number, s: Session, filter: EventFilter, preview?: PreviewResult, notices?: Notice[]) =>
      page(
        reply,
        status,
        'Console',
        consoleBody({
          filter,
          events: recent.list({ ...filter, limit: 200 }),
          ungated: recent.list({ types: ['ungated', 'flagged'], limit: 100 }),
          csrf: codec.csrfToken(s),
          previewAvailable: opts.redactor !== undefined,
          preview,
          previewMax: config.preview_max_chars,
          notices,
        }),
        s,
      );

    scope.get('/approvals', async (req, reply) => {
      const s = sessionOf(req);
      if (!s) return toSignIn(req, reply);
      const all = engine.list({ limit: 1000 });
      const pending = all.filter((r) => r.state === 'pending').sort((a, b) => a.expiresAt - b.expiresAt);
      const recentlyDecided = all.filter((r) => r.state !== 'pending').sort((a, b) => b.createdAt - a.createdAt).slice(0, 50);
      return page(reply, 200, 'Inbox', inboxBody({ pending, recent: recentlyDecided, me: s.identity, now: now() }), s);
    });

    scope.get('/approvals/console', async (req, reply) => {
      const s = sessionOf(req);
      if (!s) return toSignIn(req, reply);
      if (!canSeeConsole(s.identity)) return page(reply, 403, 'Console', html`<div class="notice err" id="error">The console is open to groups ${config.console_groups.join(', ')} only.</div>`, s);
      const q = filterQuery.safeParse(req.query ?? {});
      const filter: EventFilter = q.success ? q.data : {};
      return renderConsole(reply, 200, s, filter);
    });

    scope.post('/approvals/console/preview', async (req, reply) => {
      const body = (req.body ?? {}) as Record<string, unknown>;
      const s = guardPost(req, reply, body._csrf);
      if (!s) return reply;
      if (!canSeeConsole(s.identity)) return page(reply, 403, 'Console', html`<div class="notice err" id="error">The console is open to groups ${config.console_groups.join(', ')} only.</div>`, s);
      if (!opts.redactor) return renderConsole(reply, 404, s, {}, undefined, [{ kind: 'err', text: 'No redaction processor is configured, so there is nothing to preview.' }]);
      const text = typeof body.text === 'string' ? body.text : '';
      if (text.length > config.preview_max_chars) return renderConsole(reply, 413, s, {}, undefined, [{ kind: 'err', text: `The preview takes at most ${config.preview_max_chars} characters (approvals.pages.preview_max_chars).` }]);
      // Never stored and never logged: the input lives only in this response.
      const r = opts.redactor.redactText(text);
      return renderConsole(reply, 200, s, {}, { input: text, text: r.text, findings: r.findings });
    });

    scope.get('/approvals/:id', async (req, reply) => {
      const s = sessionOf(req);
      if (!s) return toSignIn(req, reply);
      const p = idParams.safeParse(req.params);
      const r = p.success ? engine.get(p.data.id) : undefined;
      if (!r) return page(reply, 404, 'Not found', html`<div class="notice err" id="error">No approval request with this id (it may not have reached Sluice yet).</div>`, s);
      const q = (req.query ?? {}) as Record<string, unknown>;
      const preferred = q.verdict === 'approve' || q.verdict === 'deny' ? q.verdict : undefined;
      const notices: Notice[] = [];
      if (q.done === 'approve') notices.push({ kind: 'info', text: r.state === 'pending' ? 'Your approval is recorded; more approvals are needed.' : `Your approval is recorded. The request is ${r.state}.` });
      if (q.done === 'deny') notices.push({ kind: 'info', text: 'Your denial is recorded. The request is denied.' });
      return renderDecision(reply, 200, r, s, { preferred, notices });
    });

    scope.post('/approvals/:id/decision', async (req, reply) => {
      const body = (req.body ?? {}) as Record<string, unknown>;
      const s = guardPost(req, reply, body._csrf);
      if (!s) return reply;
      const p = idParams.safeParse(req.params);
      const existing = p.success ? engine.get(p.data.id) : undefined;
      if (!p.success || !existing) return page(reply, 404, 'Not found', html`<div class="notice err" id="error">No approval request with this id.</div>`, s);
      const f = decisionForm.safeParse(body);
      if (!f.success) return renderDecision(reply, 400, existing, s, { notices: [{ kind: 'err', text: f.error.issues[0]?.message ?? 'invalid form' }] });
      const result = await engine.decide({ approvalId: p.data.id, verdict: f.data.verdict, by: s.identity, comment: f.data.comment, channel: 'page' });
      if (result.ok) return reply.redirect(`/approvals/${encodeURIComponent(p.data.id)}?done=${f.data.verdict}`, 303);
      logger.info({ approvalId: p.data.id, identity: s.identity.id, status: result.status }, 'approval pages: decision refused');
      return renderDecision(reply, result.status, result.request ?? engine.get(p.data.id) ?? existing, s, { notices: [{ kind: 'err', text: `Not recorded: ${result.reason}.` }] });
    });

    // --- sign-in ---

    const signInPage = (req: FastifyRequest, reply: FastifyReply, status: number, returnTo: string, error?: string) => {
      const state = randomBytes(18).toString('base64url');
      reply.setCookie(FLOW_COOKIE, codec.sealFlow({ state, returnTo, exp: now() + 10 * 60_000 }), cookieOpts(req, 600, '/approvals/auth'));
      return page(reply, status, 'Sign in', signInBody({ oidc: signIn !== undefined, dev: devMode, devUsers: dev.users, returnTo, flowToken: state, error }));
    };

    scope.get('/approvals/auth/login', async (req, reply) => {
      const q = (req.query ?? {}) as Record<string, unknown>;
      const returnTo = safeReturnTo(q.return_to);
      if (signIn && (!devMode || q.sso === '1')) {
        try {
          const { url, flow } = await signIn.start(redirectUri(req), returnTo, now());
          reply.setCookie(FLOW_COOKIE, codec.sealFlow(flow), cookieOpts(req, 600, '/approvals/auth'));
          return reply.redirect(url, 302);
        } catch (err) {
          logger.error({ err: (err as Error).message }, 'approval pages: cannot start OIDC sign-in');
          return signInPage(req, reply, 502, returnTo, err instanceof SignInError ? err.message : 'Cannot reach the identity provider.');
        }
      }
      return signInPage(req, reply, 200, returnTo);
    });

    scope.get('/approvals/auth/callback', async (req, reply) => {
      const flow = codec.openFlow(req.cookies[FLOW_COOKIE], now());
      reply.clearCookie(FLOW_COOKIE, { path: '/approvals/auth' });
      if (!signIn) return page(reply, 404, 'Sign in', html`<div class="notice err" id="error">Single sign-on is not configured.</div>`);
      if (!flow || !flow.verifier) return signInPage(req, reply, 400, '/approvals', 'The sign-in took too long or was started elsewhere. Please sign in again.');
      const q = (req.query ?? {}) as Record<string, unknown>;
      if (typeof q.error === 'string') {
        const code = /^[a-z_]{1,64}$/.test(q.error) ? q.error : 'error';
        return signInPage(req, reply, 401, flow.returnTo, `The identity provider did not sign you in (${code}).`);
      }
      try {
        const identity = await signIn.finish(new URL(req.url, base(req)), redirectUri(req), flow);
        return startSession(req, reply, identity, flow.returnTo);
      } catch (err) {
        logger.warn({ err: (err as Error).message }, 'approval pages: OIDC sign-in failed');
        const message = err instanceof SignInError || err instanceof SessionTooLargeError ? err.message : 'Sign-in failed.';
        return signInPage(req, reply, 401, flow.returnTo, message);
      }
    });

    scope.post('/approvals/auth/dev-login', async (req, reply) => {
      const body = (req.body ?? {}) as Record<string, unknown>;
      const returnTo = safeReturnTo(body.return_to);
      if (!devMode) return page(reply, 404, 'Sign in', html`<div class="notice err" id="error">Development users are not enabled.</div>`);
      const flow = codec.openFlow(req.cookies[FLOW_COOKIE], now());
      if (!flow || typeof body._flow !== 'string' || body._flow !== flow.state) return signInPage(req, reply, 403, returnTo, 'The sign-in form expired. Please try again.');
      const identity = dev.verify(String(body.login ?? ''), String(body.password ?? ''));
      if (!identity) {
        logger.info('approval pages: development sign-in refused (wrong user or password)');
        return signInPage(req, reply, 401, returnTo, 'Wrong user or password.');
      }
      reply.clearCookie(FLOW_COOKIE, { path: '/approvals/auth' });
      return startSession(req, reply, identity, returnTo);
    });

    const startSession = (req: FastifyRequest, reply: FastifyReply, identity: Identity, returnTo: string) => {
      const sealed = codec.sealSession(identity, config.session_ttl, now());
      reply.setCookie(sessionCookieName(req), sealed, cookieOpts(req, Math.floor(config.session_ttl / 1000)));
      logger.info({ identity: identity.id, via: identity.via }, 'approval pages: signed in');
      return reply.redirect(safeReturnTo(returnTo), 303);
    };

    scope.post('/approvals/auth/logout', async (req, reply) => {
      const body = (req.body ?? {}) as Record<string, unknown>;
      const s = guardPost(req, reply, body._csrf);
      if (!s) return reply;
      reply.clearCookie(sessionCookieName(req), { path: '/', secure: secure(req), httpOnly: true, sameSite: 'lax' });
      return page(reply, 200, 'Signed out', html`<div class="notice" id="signed-out">You are signed out. <a href="/approvals">Sign in again</a>.</div>`);
    });
  });

  return { stop: () => recent.stop() };
}
