// Sign-in sessions as signed cookies: no server-side store, so replicas that
// share `session_secret` accept each other's sessions. The cookie holds who
// signed in (id, name, email, groups) and a random session id from which the
// CSRF token is derived; HMAC-SHA256 makes it tamper-evident, and every
// comparison of secrets is constant-time.
import { createHmac, randomBytes, timingSafeEqual } from 'node:crypto';
import type { Identity } from '../types.js';

export interface Session {
  identity: Identity;
  /** Random id; the CSRF token is HMAC(secret, sid). */
  sid: string;
  /** Milliseconds since the epoch. */
  exp: number;
}

/** The OIDC round trip's secrets, kept in a short-lived cookie between /login and /callback. */
export interface SignInFlow {
  verifier?: string;
  state: string;
  nonce?: string;
  returnTo: string;
  exp: number;
}

/** Browsers drop cookies over 4096 bytes; stay clear of it. */
export const MAX_COOKIE_BYTES = 3800;

export class SessionTooLargeError extends Error {
  constructor() {
    super('the sign-in carries too much to fit in a session cookie (usually too many groups); limit the groups the IdP puts in the token to the ones policies name');
    this.name = 'SessionTooLargeError';
  }
}

export interface SessionCodec {
  sealSession(identity: Identity, ttlMs: number, now?: number): string;
  openSession(cookie: string | undefined, now?: number): Session | undefined;
  sealFlow(flow: SignInFlow): string;
  openFlow(cookie: string | undefined, now?: number): SignInFlow | undefined;
  csrfToken(session: Session): string;
  checkCsrf(session: Session, token: unknown): boolean;
}

export function createSessionCodec(secret: string | undefined): SessionCodec {
  const key = secret ? Buffer.from(secret, 'utf8') : randomBytes(32);
  const mac = (purpose: string, data: string) => createHmac('sha256', key).update(`${purpose}.${data}`).digest('base64url');

  const seal = (purpose: string, value: unknown) => {
    const body = Buffer.from(JSON.stringify(value), 'utf8').toString('base64url');
    return `${body}.${mac(purpose, body)}`;
  };
  const open = (purpose: string, cookie: string | undefined): unknown => {
    if (!cookie) return undefined;
    const dot = cookie.lastIndexOf('.');
    if (dot <= 0) return undefined;
    const body = cookie.slice(0, dot);
    if (!safeEqual(cookie.slice(dot + 1), mac(purpose, body))) return undefined;
    try {
      return JSON.parse(Buffer.from(body, 'base64url').toString('utf8'));
    } catch {
      return undefined;
    }
  };

  const csrfToken = (s: Session) => mac('csrf', s.sid);

  return {
    sealSession(identity, ttlMs, now = Date.now()) {
      const { id, name, email, groups, via } = identity;
      const session: Session = { identity: { id, name, email, groups: [...groups], via }, sid: randomBytes(18).toString('base64url'), exp: now + ttlMs };
      const sealed = seal('session', session);
      if (sealed.length > MAX_COOKIE_BYTES) throw new SessionTooLargeError();
      return sealed;
    },
    openSession(cookie, now = Date.now()) {
      const s = open('session', cookie) as Session | undefined;
      if (!s || typeof s.exp !== 'number' || s.exp <= now || typeof s.sid !== 'string' || !s.identity || typeof s.identity.id !== 'string') return undefined;
      if (!Array.isArray(s.identity.groups)) return undefined;
      return s;
    },
    sealFlow: (flow) => seal('flow', flow),
    openFlow(cookie, now = Date.now()) {
      const f = open('flow', cookie) as SignInFlow | undefined;
      if (!f || typeof f.exp !== 'number' || f.exp <= now || typeof f.state !== 'string' || typeof f.returnTo !== 'string') return undefined;
      return f;
    },
    csrfToken,
    checkCsrf(session, token) {
      return typeof token === 'string' && token.length > 0 && safeEqual(token, csrfToken(session));
    },
  };
}

function safeEqual(a: string, b: string): boolean {
  const x = Buffer.from(a);
  const y = Buffer.from(b);
  return x.length === y.length && timingSafeEqual(x, y);
}

/** Only paths of the pages themselves: an open redirect after sign-in is a phishing tool. */
export function safeReturnTo(value: unknown): string {
  if (typeof value !== 'string') return '/approvals';
  if (!/^\/approvals(?:[/?#]|$)/.test(value) || value.includes('\\') || value.startsWith('//')) return '/approvals';
  return value.length > 512 ? '/approvals' : value;
}
