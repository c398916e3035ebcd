// TLS settings as the collector's configtls writes them: PEM files, read at start.
import { readFileSync } from 'node:fs';
import { z } from 'zod';

export const tlsSchema = z
  .object({
    cert_file: z.string().min(1),
    key_file: z.string().min(1),
    /** When set, clients must present a certificate signed by this CA (mTLS). */
    client_ca_file: z.string().min(1).optional(),
  })
  .strict();

export type TlsConfig = z.output<typeof tlsSchema>;

/** Options for node:https / node:tls servers. */
export function tlsServerOptions(tls: TlsConfig) {
  return {
    cert: readFileSync(tls.cert_file),
    key: readFileSync(tls.key_file),
    ...(tls.client_ca_file ? { ca: readFileSync(tls.client_ca_file), requestCert: true, rejectUnauthorized: true } : {}),
  };
}
