// OpenID Connect sign-in for the pages: authorization code flow with PKCE
// (S256), state and nonce, through openid-client. Discovery runs on the first
// sign-in and is retried after a failure rather than cached broken.
import * as oidc from 'openid-client';
import type { Identity } from '../types.js';
import type { PagesOidcConfig } from './config.js';
import type { SignInFlow } from './session.js';

export interface OidcSignIn {
  /** The IdP URL to send the browser to, and what the callback must check. */
  start(redirectUri: string, returnTo: string, now?: number): Promise<{ url: string; flow: SignInFlow }>;
  /** Exchanges the code (checking state, nonce and the PKCE verifier) and returns who signed in. */
  finish(callbackUrl: URL, redirectUri: string, flow: SignInFlow): Promise<Identity>;
}

export class SignInError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'SignInError';
  }
}

const FLOW_TTL_MS = 10 * 60_000;

export function createOidcSignIn(config: PagesOidcConfig): OidcSignIn {
  let discovered: Promise<oidc.Configuration> | undefined;
  const configuration = () => {
    discovered ??= oidc
      .discovery(
        new URL(config.issuer),
        config.client_id,
        undefined,
        config.client_secret ? oidc.ClientSecretBasic(config.client_secret) : oidc.None(),
        { execute: config.allow_insecure_http ? [oidc.allowInsecureRequests] : [], timeout: Math.max(1, Math.ceil(config.timeout / 1000)) },
      )
      .catch((err: unknown) => {
        discovered = undefined;
        throw new SignInError(`cannot reach the identity provider's discovery document (${describe(err)}); check approvals.pages.oidc.issuer`);
      });
    return discovered;
  };

  return {
    async start(redirectUri, returnTo, now = Date.now()) {
      const c = await configuration();
      const verifier = oidc.randomPKCECodeVerifier();
      const state = oidc.randomState();
      const nonce = oidc.randomNonce();
      const url = oidc.buildAuthorizationUrl(c, {
        redirect_uri: redirectUri,
        scope: config.scopes.join(' '),
        response_type: 'code',
        code_challenge: await oidc.calculatePKCECodeChallenge(verifier),
        code_challenge_method: 'S256',
        state,
        nonce,
      });
      return { url: url.href, flow: { verifier, state, nonce, returnTo, exp: now + FLOW_TTL_MS } };
    },

    async finish(callbackUrl, redirectUri, flow) {
      const c = await configuration();
      // openid-client compares the callback URL it is given with redirect_uri;
      // behind a proxy the URL Sluice sees differs, so rebuild it from the registered one.
      const current = new URL(redirectUri);
      current.search = callbackUrl.search;
      let tokens;
      try {
        tokens = await oidc.authorizationCodeGrant(c, current, {
          pkceCodeVerifier: flow.verifier,
          expectedState: flow.state,
          expectedNonce: flow.nonce,
          idTokenExpected: true,
        });
      } catch (err) {
        throw new SignInError(`sign-in was not completed (${describe(err)})`);
      }
      const idClaims = tokens.claims();
      if (!idClaims) throw new SignInError('the identity provider returned no ID token');
      let claims: Record<string, unknown> = { ...idClaims };
      const missing = claims[config.groups_claim] === undefined || claims[config.email_claim] === undefined;
      if (config.userinfo && missing && tokens.access_token && c.serverMetadata().userinfo_endpoint) {
        try {
          const info = await oidc.fetchUserInfo(c, tokens.access_token, idClaims.sub);
          claims = { ...info, ...claims };
          for (const k of [config.groups_claim, config.email_claim]) if (claims[k] === undefined && info[k] !== undefined) claims[k] = info[k];
        } catch (err) {
          throw new SignInError(`cannot read the user's claims from the userinfo endpoint (${describe(err)})`);
        }
      }
      return identityFromClaims(claims, config);
    },
  };
}

export function identityFromClaims(claims: Record<string, unknown>, config: Pick<PagesOidcConfig, 'groups_claim' | 'email_claim'>): Identity {
  const str = (v: unknown) => (typeof v === 'string' && v.length > 0 ? v : undefined);
  const email = str(claims[config.email_claim]);
  const id = email ?? str(claims.sub);
  if (!id) throw new SignInError(`the ID token has neither "${config.email_claim}" nor "sub"`);
  const raw = claims[config.groups_claim];
  const groups = Array.isArray(raw) ? raw.filter((g): g is string => typeof g === 'string') : typeof raw === 'string' ? [raw] : [];
  return { id, name: str(claims.name), email, groups, via: 'oidc' };
}

// openid-client's messages name the failed check (state mismatch, nonce,
// PKCE, HTTP status); the IdP's `error` code is a fixed token. Neither
// carries the user's data, but keep it to one line.
function describe(err: unknown): string {
  if (err && typeof err === 'object') {
    const e = err as { error?: unknown; code?: unknown; message?: unknown };
    if (typeof e.error === 'string') return `IdP answered ${e.error}`;
    if (typeof e.message === 'string') return e.message.split('\n')[0]!.slice(0, 200);
  }
  return 'unknown error';
}
