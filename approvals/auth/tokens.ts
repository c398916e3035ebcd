// Static API tokens: only their SHA-256 is held. A presented token is hashed
// and compared with every configured hash in constant time, so neither the
// timing nor an early exit tells which token was nearly right.
import { createHash, timingSafeEqual } from 'node:crypto';
import type { Identity } from '../types.js';
import type { TokenConfig } from './config.js';

export interface TokenTable {
  lookup(token: string): Identity | undefined;
}

export function createTokenTable(tokens: readonly TokenConfig[]): TokenTable {
  const entries = tokens.map((t) => ({ hash: Buffer.from(t.sha256, 'hex'), identity: tokenIdentity(t) }));
  return {
    lookup(token) {
      const presented = createHash('sha256').update(token, 'utf8').digest();
      let found: Identity | undefined;
      for (const e of entries) {
        if (timingSafeEqual(presented, e.hash) && !found) found = e.identity;
      }
      return found ? structuredClone(found) : undefined;
    },
  };
}

function tokenIdentity(t: TokenConfig): Identity {
  // Agents hold ingest/request tokens; such a credential never decides, even
  // when it also carries `decide` (invariant 2).
  const agent = t.scopes.includes('ingest') || t.scopes.includes('request');
  return {
    id: t.identity?.id ?? `token:${t.name}`,
    name: t.identity?.name ?? t.name,
    groups: t.identity?.groups ?? [],
    via: 'token',
    scopes: [...t.scopes],
    agent,
  };
}
