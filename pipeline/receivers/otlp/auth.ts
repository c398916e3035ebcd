// Ingest authentication for both transports: a bearer token whose SHA-256 is
// in config. Off unless `auth` is configured (the embedded default binds to
// loopback); on in the compose deployment.
import { createTokenTable } from '../../../approvals/auth/tokens.js';
import type { IngestAuthConfig } from './config.js';

export type IngestAuthCheck = (authorization: string | undefined) => boolean;

export function createIngestAuth(config: IngestAuthConfig | undefined): IngestAuthCheck | undefined {
  if (!config) return undefined;
  const table = createTokenTable(config.tokens);
  return (authorization) => {
    const m = /^Bearer\s+(\S+)\s*$/i.exec(authorization ?? '');
    return m ? table.lookup(m[1] as string) !== undefined : false;
  };
}
