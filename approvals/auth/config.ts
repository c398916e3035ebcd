// The `approvals.auth` section: who may call the approvals API. Humans come
// with an OIDC JWT from the configured issuer; machines with a static token
// whose SHA-256 (never the token itself) is in config.
import { createHash } from 'node:crypto';
import { z } from 'zod';

export const tokenScopes = ['ingest', 'request', 'read', 'decide'] as const;
export type TokenScope = (typeof tokenScopes)[number];

const sha256Hex = z
  .string()
  .regex(/^[0-9a-fA-F]{64}$/, 'must be the 64-character hex SHA-256 of the token (e.g. `printf %s "$TOKEN" | sha256sum`)')
  .transform((s) => s.toLowerCase());

export const oidcConfigSchema = z.object({
  /** Must equal the JWT's `iss` exactly. Discovery reads `<issuer>/.well-known/openid-configuration`. */
  issuer: z.string().url(),
  /** Must appear in the JWT's `aud`. */
  audience: z.union([z.string().min(1), z.array(z.string().min(1)).min(1)]),
  /** Skips discovery when set. */
  jwks_uri: z.string().url().optional(),
  algorithms: z
    .array(z.enum(['RS256', 'RS384', 'RS512', 'PS256', 'PS384', 'PS512', 'ES256', 'ES384', 'ES512', 'EdDSA']))
    .min(1)
    .default(['RS256', 'ES256']),
  /** Okta: `groups`; Azure AD: `groups` (object ids) or `roles` (app roles). */
  groups_claim: z.string().min(1).default('groups'),
  email_claim: z.string().min(1).default('email'),
  /** Accepted clock skew for exp/nbf/iat, as a duration (`30s`, `2m`). */
  clock_tolerance: z.string().regex(/^\d+\s*(s|sec|secs|second|seconds|m|min|mins|minute|minutes)$/, 'must be a duration such as "30s" or "1m"').default('30s'),
  /** Rejects tokens issued longer ago than this (needs `iat`); unset: only `exp` bounds the token. */
  max_token_age: z.string().optional(),
});

export const tokenConfigSchema = z
  .object({
    name: z.string().min(1).regex(/^[A-Za-z0-9_.:-]+$/, 'use letters, digits and . _ : - only'),
    /** Hex SHA-256 of the token. */
    sha256: sha256Hex.optional(),
    /** The token itself, normally `${env:VAR}`; hashed at load and never kept. */
    value: z.string().min(16, 'a token must be at least 16 characters').optional(),
    scopes: z.array(z.enum(tokenScopes)).min(1),
    /** Identity the token decides as (needs the `decide` scope). Default: `token:<name>`, no groups. */
    identity: z.object({ id: z.string().min(1), name: z.string().optional(), groups: z.array(z.string()).default([]) }).optional(),
  })
  .refine((t) => (t.sha256 === undefined) !== (t.value === undefined), {
    message: 'set exactly one of `sha256` (hex hash of the token) or `value` (e.g. ${env:SLUICE_TOKEN})',
  })
  .transform(({ value, sha256, ...rest }) => ({
    ...rest,
    sha256: sha256 ?? createHash('sha256').update(value!, 'utf8').digest('hex'),
  }));

export const authConfigSchema = z
  .object({
    oidc: oidcConfigSchema.optional(),
    tokens: z
      .array(tokenConfigSchema)
      .default([])
      .superRefine((tokens, ctx) => {
        const seen = new Set<string>();
        for (const [i, t] of tokens.entries()) {
          if (seen.has(t.name)) ctx.addIssue({ code: 'custom', path: [i, 'name'], message: `duplicate token name "${t.name}"; names identify tokens in the audit log` });
          seen.add(t.name);
        }
      }),
  })
  .default({ tokens: [] });

export type OidcConfig = z.infer<typeof oidcConfigSchema>;
export type TokenConfig = z.output<typeof tokenConfigSchema>;
export type AuthConfig = z.output<typeof authConfigSchema>;
