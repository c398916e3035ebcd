// A real OpenID Connect provider on loopback (the `oidc-provider` package):
// discovery, authorization code + PKCE, ID tokens signed with its own RSA key,
// userinfo with a `groups` claim. Sign-in uses oidc-provider's development
// interaction (a login form; the login names a configured test user). The
// provider is built on its first request, so clients whose redirect URI is
// only known once Sluice listens can be added after the issuer URL exists.
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { exportJWK, generateKeyPair } from 'jose';
// @ts-expect-error oidc-provider ships no types (and @types/oidc-provider lags its major versions); only its documented constructor is used.
import Provider from 'oidc-provider';

export interface TestUser {
  sub: string;
  email: string;
  name: string;
  groups: string[];
}

export interface TestClient {
  client_id: string;
  client_secret?: string;
  redirect_uris: string[];
}

export interface TestOidcProvider {
  issuer: string;
  /** Registers a client; only before the first request reaches the provider. */
  addClient(client: TestClient): void;
  close(): Promise<void>;
}

export async function startOidcProvider(opts: { users: TestUser[]; groupsClaim?: string }): Promise<TestOidcProvider> {
  const groupsClaim = opts.groupsClaim ?? 'groups';
  const users = new Map(opts.users.map((u) => [u.sub, u]));
  const clients: TestClient[] = [];
  const { privateKey } = await generateKeyPair('RS256', { extractable: true });
  const jwk = { ...(await exportJWK(privateKey)), kid: 'test-rs256', alg: 'RS256', use: 'sig' };
  let handler: ((req: IncomingMessage, res: ServerResponse) => void) | undefined;
  let issuer = '';

  const build = () => {
    const provider = new Provider(issuer, {
      clients: clients.map((c) => ({
        client_id: c.client_id,
        ...(c.client_secret ? { client_secret: c.client_secret, token_endpoint_auth_method: 'client_secret_basic' } : { token_endpoint_auth_method: 'none' }),
        redirect_uris: c.redirect_uris,
        grant_types: ['authorization_code'],
        response_types: ['code'],
      })),
      jwks: { keys: [jwk] },
      cookies: { keys: ['test-cookie-key-0123456789abcdef'] },
      pkce: { required: () => true },
      scopes: ['openid', 'email', 'profile', 'groups'],
      claims: { openid: ['sub'], email: ['email', 'email_verified'], profile: ['name'], groups: [groupsClaim] },
      features: { devInteractions: { enabled: true } },
      async findAccount(_ctx: unknown, sub: string) {
        const u = users.get(sub);
        if (!u) return undefined;
        return {
          accountId: sub,
          async claims() {
            return { sub, email: u.email, email_verified: true, name: u.name, [groupsClaim]: u.groups };
          },
        };
      },
      // First-party client: skip the consent screen by granting what it asks.
      async loadExistingGrant(ctx: any) {
        const grantId = ctx.oidc.result?.consent?.grantId || ctx.oidc.session.grantIdFor(ctx.oidc.client.clientId);
        if (grantId) return ctx.oidc.provider.Grant.find(grantId);
        const grant = new ctx.oidc.provider.Grant({ clientId: ctx.oidc.client.clientId, accountId: ctx.oidc.session.accountId });
        grant.addOIDCScope('openid email profile groups');
        await grant.save();
        return grant;
      },
    } as any);
    provider.on('authorization.success', () => undefined);
    provider.on('server_error', () => undefined);
    return provider.callback() as (req: IncomingMessage, res: ServerResponse) => void;
  };

  const server: Server = createServer((req, res) => {
    handler ??= build();
    handler(req, res);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  issuer = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;

  return {
    issuer,
    addClient(c) {
      if (handler) throw new Error('register clients before the provider serves its first request');
      clients.push(c);
    },
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
