import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { authConfigSchema } from '../../approvals/auth/config.js';
import { createAuthenticator, type Authenticator } from '../../approvals/auth/authenticate.js';
import { startFakeOidc, type FakeOidc } from '../helpers/fake-oidc.js';

const sha = (s: string) => createHash('sha256').update(s).digest('hex');

describe('approvals auth: OIDC', () => {
  let idp: FakeOidc;
  let auth: Authenticator;
  before(async () => {
    idp = await startFakeOidc();
    auth = createAuthenticator(authConfigSchema.parse({ oidc: { issuer: idp.issuer, audience: 'sluice' } }));
  });
  after(() => idp.close());

  it('accepts a valid RS256 and ES256 token, discovering the JWKS', async () => {
    for (const alg of ['RS256', 'ES256'] as const) {
      const jwt = await idp.mint({ sub: 'u1', email: 'alice@example.com', name: 'Alice', groups: ['data-owners'] }, { alg });
      const r = await auth.authenticate(`Bearer ${jwt}`);
      assert.ok(r.ok, JSON.stringify(r));
      assert.deepEqual(r.identity, { id: 'alice@example.com', name: 'Alice', email: 'alice@example.com', groups: ['data-owners'], via: 'oidc' });
    }
    assert.equal(idp.hits['/.well-known/openid-configuration'], 1);
  });

  const refusals: Array<[string, () => Promise<string>, RegExp]> = [
    ['wrong issuer', () => idp.mint({ sub: 'u1' }, { issuer: 'https://evil.example.com' }), /iss/],
    ['wrong audience', () => idp.mint({ sub: 'u1' }, { audience: 'another-app' }), /aud/],
    ['HS256 (algorithm not allowed)', () => idp.mint({ sub: 'u1' }, { alg: 'HS256' }), /algorithm/],
    ['expired', () => idp.mint({ sub: 'u1' }, { expiresIn: Math.floor(Date.now() / 1000) - 3600 }), /expired/],
    ['signed by a key the issuer never published', () => idp.mint({ sub: 'u1' }, { foreignKey: true }), /signature|key/],
  ];
  for (const [name, mint, msg] of refusals) {
    it(`refuses a token with ${name} (401)`, async () => {
      const jwt = await mint();
      const r = await auth.authenticate(`Bearer ${jwt}`);
      assert.equal(r.ok, false);
      if (r.ok) return;
      assert.equal(r.status, 401);
      assert.match(r.message, msg);
      assert.ok(!r.message.includes(jwt), 'the token is never echoed');
    });
  }

  it('reads groups from a configurable claim (Azure AD roles)', async () => {
    const azure = createAuthenticator(
      authConfigSchema.parse({ oidc: { issuer: idp.issuer, audience: 'sluice', jwks_uri: idp.jwksUri, groups_claim: 'roles', email_claim: 'upn' } }),
    );
    const jwt = await idp.mint({ sub: 'oid-1', upn: 'bob@corp.example', roles: ['Sluice.Approver'], groups: ['ignored'] });
    const r = await azure.authenticate(`Bearer ${jwt}`);
    assert.ok(r.ok);
    assert.equal(r.identity.id, 'bob@corp.example');
    assert.deepEqual(r.identity.groups, ['Sluice.Approver']);
  });

  it('refuses a JWT when no issuer is configured', async () => {
    const none = createAuthenticator(authConfigSchema.parse({}));
    const r = await none.authenticate(`Bearer ${await idp.mint({ sub: 'x' })}`);
    assert.equal(r.ok, false);
  });
});

describe('approvals auth: static tokens', () => {
  const agentToken = 'agent-token-0123456789abcdef';
  const deciderToken = 'decider-token-0123456789abcdef';
  const auth = createAuthenticator(
    authConfigSchema.parse({
      tokens: [
        { name: 'agent', sha256: sha(agentToken).toUpperCase(), scopes: ['ingest', 'request'] },
        { name: 'ops-bot', value: deciderToken, scopes: ['read', 'decide'], identity: { id: 'ops@example.com', groups: ['sre'] } },
      ],
    }),
  );

  it('matches by hash and carries scopes; ingest/request tokens are agents', async () => {
    const a = await auth.authenticate(`Bearer ${agentToken}`);
    assert.ok(a.ok);
    assert.equal(a.identity.id, 'token:agent');
    assert.equal(a.identity.agent, true);
    assert.deepEqual(a.identity.scopes, ['ingest', 'request']);
    const d = await auth.authenticate(`bearer ${deciderToken}`);
    assert.ok(d.ok);
    assert.equal(d.identity.id, 'ops@example.com');
    assert.equal(d.identity.agent, false);
    assert.deepEqual(d.identity.groups, ['sre']);
  });

  it('refuses unknown, missing and malformed credentials with 401', async () => {
    for (const h of [`Bearer ${agentToken}x`, undefined, `Basic ${agentToken}`, 'Bearer']) {
      const r = await auth.authenticate(h);
      assert.equal(r.ok, false, String(h));
      if (!r.ok) assert.equal(r.status, 401);
    }
  });

  it('never keeps the plain token in the parsed config', () => {
    const cfg = authConfigSchema.parse({ tokens: [{ name: 't', value: deciderToken, scopes: ['read'] }] });
    assert.ok(!JSON.stringify(cfg).includes(deciderToken));
    assert.equal(cfg.tokens[0].sha256, sha(deciderToken));
  });

  it('rejects a token entry with both or neither of sha256/value', () => {
    assert.throws(() => authConfigSchema.parse({ tokens: [{ name: 't', scopes: ['read'] }] }), /exactly one/);
    assert.throws(() => authConfigSchema.parse({ tokens: [{ name: 't', scopes: ['read'], value: deciderToken, sha256: sha('x') }] }), /exactly one/);
  });
});
