// A loopback OIDC issuer: discovery document, JWKS, and a `mint` that signs
// tokens with the issuer's key (or a key the issuer never published, or HS256,
// to test refusals).
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { exportJWK, generateKeyPair, SignJWT, type JWTPayload } from 'jose';

export interface FakeOidc {
  issuer: string;
  jwksUri: string;
  /** Requests seen, by path. */
  hits: Record<string, number>;
  mint(claims: JWTPayload & { email?: string }, opts?: MintOptions): Promise<string>;
  close(): Promise<void>;
}

export interface MintOptions {
  audience?: string | string[];
  issuer?: string;
  /** e.g. '5m', or a past epoch-seconds number for an expired token. */
  expiresIn?: string | number;
  alg?: 'RS256' | 'ES256' | 'HS256';
  /** Sign with a fresh key the JWKS does not contain. */
  foreignKey?: boolean;
}

export async function startFakeOidc(opts: { audience?: string } = {}): Promise<FakeOidc> {
  const rsa = await generateKeyPair('RS256', { extractable: true });
  const ec = await generateKeyPair('ES256', { extractable: true });
  const rsaJwk = { ...(await exportJWK(rsa.publicKey)), kid: 'rsa-1', alg: 'RS256', use: 'sig' };
  const ecJwk = { ...(await exportJWK(ec.publicKey)), kid: 'ec-1', alg: 'ES256', use: 'sig' };
  const hits: Record<string, number> = {};
  let issuer = '';

  const server: Server = createServer((req, res) => {
    const path = (req.url ?? '/').split('?')[0];
    hits[path] = (hits[path] ?? 0) + 1;
    res.setHeader('content-type', 'application/json');
    if (path === '/.well-known/openid-configuration') {
      res.end(JSON.stringify({ issuer, jwks_uri: `${issuer}/jwks`, id_token_signing_alg_values_supported: ['RS256', 'ES256'] }));
    } else if (path === '/jwks') {
      res.end(JSON.stringify({ keys: [rsaJwk, ecJwk] }));
    } else {
      res.statusCode = 404;
      res.end('{"error":"not_found"}');
    }
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  issuer = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  const defaultAudience = opts.audience ?? 'sluice';

  return {
    issuer,
    jwksUri: `${issuer}/jwks`,
    hits,
    async mint(claims, o = {}) {
      const alg = o.alg ?? 'RS256';
      const jwt = new SignJWT(claims)
        .setProtectedHeader({ alg, kid: alg === 'ES256' ? 'ec-1' : alg === 'RS256' ? 'rsa-1' : 'hs-1', typ: 'JWT' })
        .setIssuer(o.issuer ?? issuer)
        .setAudience(o.audience ?? defaultAudience)
        .setIssuedAt()
        .setExpirationTime(o.expiresIn ?? '5m');
      if (alg === 'HS256') return jwt.sign(new TextEncoder().encode('a-shared-secret-nobody-should-accept-here'));
      if (o.foreignKey) return jwt.sign((await generateKeyPair(alg)).privateKey);
      return jwt.sign(alg === 'ES256' ? ec.privateKey : rsa.privateKey);
    },
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}
