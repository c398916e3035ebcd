// One entry point for every approvals surface: `Authorization: Bearer …` in,
// a verified Identity or a 401 out. A three-part dotted token is a JWT (OIDC);
// anything else is looked up among the static API tokens.
import type { Identity } from '../types.js';
import type { AuthConfig } from './config.js';
import { createOidcVerifier, OidcError, type OidcVerifier } from './oidc.js';
import { createTokenTable } from './tokens.js';

export interface AuthError {
  status: 401;
  error: 'unauthorized';
  message: string;
}

export type AuthResult = { ok: true; identity: Identity } | ({ ok: false } & AuthError);

export interface Authenticator {
  authenticate(authorizationHeader: string | undefined): Promise<AuthResult>;
}

const JWT_SHAPE = /^[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]*$/;

export function createAuthenticator(config: AuthConfig, opts: { oidcFetchTimeoutMs?: number } = {}): Authenticator {
  const tokens = createTokenTable(config.tokens);
  const oidc: OidcVerifier | undefined = config.oidc ? createOidcVerifier(config.oidc, { fetchTimeoutMs: opts.oidcFetchTimeoutMs }) : undefined;
  const fail = (message: string): AuthResult => ({ ok: false, status: 401, error: 'unauthorized', message });

  return {
    async authenticate(header) {
      if (!header) return fail('missing Authorization header; send "Authorization: Bearer <token>"');
      const m = /^Bearer\s+(\S+)\s*$/i.exec(header);
      if (!m) return fail('Authorization header must be "Bearer <token>"');
      const token = m[1];
      if (JWT_SHAPE.test(token)) {
        if (!oidc) return fail('a JWT was presented but no OIDC issuer is configured (approvals.auth.oidc)');
        try {
          return { ok: true, identity: await oidc.verify(token) };
        } catch (err) {
          return fail(err instanceof OidcError ? err.message : 'token rejected');
        }
      }
      const identity = tokens.lookup(token);
      return identity ? { ok: true, identity } : fail('unknown API token');
    },
  };
}

export function hasScope(identity: Identity, ...scopes: string[]): boolean {
  return identity.via === 'token' ? scopes.some((s) => identity.scopes?.includes(s)) : false;
}
