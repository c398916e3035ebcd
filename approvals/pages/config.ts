// The `approvals.pages` section: the decision pages, inbox and console that
// Sluice serves on its API port, and how people sign in to them (OpenID
// Connect authorization code + PKCE, or development users from config).
import { z } from 'zod';
import { duration } from '../../config/units.js';

const absoluteHttpUrl = z
  .string()
  .url()
  .refine((u) => /^https?:\/\//.test(u), 'must be an http(s) URL')
  .transform((u) => u.replace(/\/+$/, ''));

export const pagesOidcSchema = z
  .object({
    /** The IdP's issuer URL; discovery reads `<issuer>/.well-known/openid-configuration`. */
    issuer: absoluteHttpUrl,
    /** The client (app registration) Sluice signs in as. */
    client_id: z.string().min(1, 'set approvals.pages.oidc.client_id to the client id of the Sluice app registration'),
    /** Confidential clients: the client secret (normally ${env:…}). Unset: a public client (PKCE only). */
    client_secret: z.string().min(1).optional(),
    /** Must be registered at the IdP. Default: `<public_url>/approvals/auth/callback`. */
    redirect_uri: absoluteHttpUrl.optional(),
    scopes: z.array(z.string().min(1)).min(1).default(['openid', 'profile', 'email']),
    /** Claim that holds the user's groups (Okta: `groups`; Entra ID: `groups` or `roles`). */
    groups_claim: z.string().min(1).default('groups'),
    /** Claim used as the identity id, falling back to `sub` (Entra ID: often `preferred_username` or `upn`). */
    email_claim: z.string().min(1).default('email'),
    /** Read claims missing from the ID token (often groups) from the userinfo endpoint. */
    userinfo: z.boolean().default(true),
    /** Allow an `http://` issuer. Only for an IdP on loopback in development and tests. */
    allow_insecure_http: z.boolean().default(false),
    /** Timeout of each call to the IdP (discovery, token, userinfo). */
    timeout: duration('10s'),
  })
  .strict();

export const devUserSchema = z
  .object({
    id: z.string().min(1),
    name: z.string().min(1).optional(),
    email: z.string().min(1).optional(),
    groups: z.array(z.string().min(1)).default([]),
    password: z.string().min(1, 'give each development user a password'),
  })
  .strict();

export const pagesConfigSchema = z
  .object({
    /** Serve the pages (`/approvals`, `/approvals/{id}`, `/approvals/console`). */
    enabled: z.boolean().default(true),
    /**
     * The URL people reach Sluice at, e.g. https://sluice.example.com. Used for
     * the OIDC redirect URI, for links in Teams cards, and to decide Secure
     * cookies. Unset: taken from each request's Host (fine on loopback).
     */
    public_url: absoluteHttpUrl.optional(),
    oidc: pagesOidcSchema.optional(),
    /** DEVELOPMENT ONLY: users who sign in with a password from this file. Refused on a non-loopback bind unless `allow_dev_users_on_network`. */
    dev_users: z.array(devUserSchema).default([]),
    /** Let development users sign in although the API listens beyond loopback. Never in production. */
    allow_dev_users_on_network: z.boolean().default(false),
    /** HMAC key for session cookies (≥ 32 characters, normally ${env:…}); replicas behind one load balancer must share it. Unset: random per process (sign-ins end on restart). */
    session_secret: z.string().min(32, 'use a session_secret of at least 32 characters').optional(),
    /** How long a sign-in lasts. */
    session_ttl: duration('8h'),
    /** `auto`: Secure cookies when public_url is https or the request came over TLS. */
    cookie_secure: z.union([z.literal('auto'), z.boolean()]).default('auto'),
    /** Groups that may open the console; empty: every signed-in user. */
    console_groups: z.array(z.string().min(1)).default([]),
    /** Approval events the console keeps in memory for its view (the full history is in the journal and ClickHouse). */
    console_events: z.number().int().min(100).max(1_000_000).default(5000),
    /** Longest text the redaction preview accepts, in characters. */
    preview_max_chars: z.number().int().min(100).max(1_000_000).default(20_000),
  })
  .strict()
  .superRefine((c, ctx) => {
    if (c.enabled && !c.oidc && c.dev_users.length === 0)
      ctx.addIssue({
        code: 'custom',
        path: ['oidc'],
        message: 'the approval pages need a way to sign in: set approvals.pages.oidc (issuer, client_id, …) or, for development only, approvals.pages.dev_users',
      });
    const seen = new Set<string>();
    for (const [i, u] of c.dev_users.entries()) {
      const key = u.id.toLowerCase();
      if (seen.has(key)) ctx.addIssue({ code: 'custom', path: ['dev_users', i, 'id'], message: `duplicate development user "${u.id}"` });
      seen.add(key);
    }
  });

export type PagesConfig = z.output<typeof pagesConfigSchema>;
export type PagesConfigInput = z.input<typeof pagesConfigSchema>;
export type PagesOidcConfig = z.output<typeof pagesOidcSchema>;
export type DevUser = z.output<typeof devUserSchema>;
