// A port that cannot be bound, as an operator reads it at 3 a.m.: which
// listener, where, why in words, and which setting moves it. Node's own
// "listen EADDRINUSE: address already in use 127.0.0.1:4318" names none of
// the five listeners a Sluice process may have.
import type { Server } from 'node:net';
import type { HostPort } from '../config/units.js';

export function listenError(err: unknown, what: string, at: HostPort, fix: string): Error {
  const e = err as NodeJS.ErrnoException;
  const text = `${e.code ?? ''} ${e.message ?? ''}`;
  const why = /EADDRINUSE|address already in use/i.test(text)
    ? 'the port is in use'
    : /EACCES|permission denied/i.test(text)
      ? 'permission denied (ports below 1024 need privileges)'
      : /EADDRNOTAVAIL|cannot assign requested address/i.test(text)
        ? 'this host has no such address'
        : e.message;
  return new Error(`${what} cannot listen on ${at.host}:${at.port}: ${why}; ${fix}`);
}

/** server.listen, rejecting with listenError. */
export async function listenOn(server: Server, at: HostPort, what: string, fix: string): Promise<void> {
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(at.port, at.host, () => {
      server.off('error', reject);
      resolve();
    });
  }).catch((err: unknown) => {
    throw listenError(err, what, at, fix);
  });
}
