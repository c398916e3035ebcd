// Verifies OIDC access/ID tokens against the issuer's JWKS with jose: the
// signature, `iss`, `aud`, `exp`/`nbf` (with clock tolerance) and an
// allow-list of algorithms, so an `alg: none` or HS256 token signed with a
// public key is refused before any claim is read.
import { createRemoteJWKSet, errors, jwtVerify, type JWTPayload } from 'jose';
import type { Identity } from '../types.js';
import type { OidcConfig } from './config.js';

export interface OidcVerifier {
  verify(jwt: string): Promise<Identity>;
}

export class OidcError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'OidcError';
  }
}

export function createOidcVerifier(config: OidcConfig, opts: { fetchTimeoutMs?: number } = {}): OidcVerifier {
  const issuer = config.issuer.replace(/\/+$/, '');
  let jwks: Promise<ReturnType<typeof createRemoteJWKSet>> | undefined;

  const getJwks = () => {
    jwks ??= resolveJwksUri(config, issuer, opts.fetchTimeoutMs ?? 5000)
      .then((uri) => createRemoteJWKSet(new URL(uri), { timeoutDuration: opts.fetchTimeoutMs ?? 5000 }))
      .catch((err: unknown) => {
        // Retry discovery on the next request instead of caching the failure.
        jwks = undefined;
        throw err;
      });
    return jwks;
  };

  return {
    async verify(jwt) {
      let keySet;
      try {
        keySet = await getJwks();
      } catch (err) {
        throw new OidcError(`cannot load the issuer's signing keys (${(err as Error).message}); check approvals.auth.oidc.issuer / jwks_uri`);
      }
      let payload: JWTPayload;
      try {
        ({ payload } = await jwtVerify(jwt, keySet, {
          issuer: config.issuer,
          audience: config.audience,
          algorithms: config.algorithms,
          clockTolerance: config.clock_tolerance,
          maxTokenAge: config.max_token_age,
          requiredClaims: ['exp'],
        }));
      } catch (err) {
        throw new OidcError(describeJoseError(err));
      }
      return identityFromClaims(payload, config);
    },
  };
}

async function resolveJwksUri(config: OidcConfig, issuer: string, timeoutMs: number): Promise<string> {
  if (config.jwks_uri) return config.jwks_uri;
  const res = await fetch(`${issuer}/.well-known/openid-configuration`, { signal: AbortSignal.timeout(timeoutMs) });
  if (!res.ok) throw new Error(`discovery answered HTTP ${res.status}`);
  const doc = (await res.json()) as { jwks_uri?: unknown; issuer?: unknown };
  if (typeof doc.jwks_uri !== 'string') throw new Error('discovery document has no jwks_uri');
  return doc.jwks_uri;
}

// jose's messages name the failing check, never the token's contents; still,
// map the common ones to a fixed wording so nothing from the token is echoed.
function describeJoseError(err: unknown): string {
  if (err instanceof errors.JWTExpired) return 'token expired';
  if (err instanceof errors.JWTClaimValidationFailed) return `token claim "${err.claim}" failed validation (${err.reason})`;
  if (err instanceof errors.JOSEAlgNotAllowed) return 'token signing algorithm is not allowed';
  if (err instanceof errors.JWSSignatureVerificationFailed) return 'token signature is invalid';
  if (err instanceof errors.JWKSNoMatchingKey) return 'no issuer key matches the token';
  if (err instanceof errors.JWTInvalid || err instanceof errors.JWSInvalid) return 'malformed token';
  if (err instanceof errors.JOSEError) return `token rejected (${err.code})`;
  return 'token rejected';
}

function identityFromClaims(payload: JWTPayload, config: OidcConfig): Identity {
  const email = stringClaim(payload[config.email_claim]);
  const sub = payload.sub;
  const id = email ?? sub;
  if (!id) throw new OidcError(`token has neither "${config.email_claim}" nor "sub"`);
  const raw = payload[config.groups_claim];
  const groups = Array.isArray(raw) ? raw.filter((g): g is string => typeof g === 'string') : typeof raw === 'string' ? [raw] : [];
  return { id, name: stringClaim(payload.name), email, groups, via: 'oidc' };
}

function stringClaim(v: unknown): string | undefined {
  return typeof v === 'string' && v.length > 0 ? v : undefined;
}
