// Development mode: users and passwords from the config file, so someone
// trying Sluice can approve a request in the browser without an IdP. Never for
// production: refused on a non-loopback bind unless explicitly forced.
import { createHash, timingSafeEqual } from 'node:crypto';
import { isIP } from 'node:net';
import type { Identity } from '../types.js';
import type { DevUser, PagesConfig } from './config.js';

export interface DevDirectory {
  users: ReadonlyArray<{ id: string; name?: string; groups: string[] }>;
  /** The identity for a correct id (or email) and password, else undefined. */
  verify(login: string, password: string): Identity | undefined;
}

const digest = (s: string) => createHash('sha256').update(s, 'utf8').digest();

export function createDevDirectory(users: readonly DevUser[]): DevDirectory {
  const entries = users.map((u) => ({ user: u, password: digest(u.password) }));
  return {
    users: users.map((u) => ({ id: u.id, name: u.name, groups: [...u.groups] })),
    verify(login, password) {
      const who = login.trim().toLowerCase();
      const presented = digest(password);
      let found: DevUser | undefined;
      // Compare against every user, so timing says nothing about which logins exist.
      for (const e of entries) {
        const match = timingSafeEqual(presented, e.password);
        if (match && !found && (e.user.id.toLowerCase() === who || e.user.email?.toLowerCase() === who)) found = e.user;
      }
      return found ? { id: found.id, name: found.name, email: found.email, groups: [...found.groups], via: 'dev' } : undefined;
    },
  };
}

export function isLoopbackHost(host: string): boolean {
  const h = host.replace(/^\[|\]$/g, '').toLowerCase();
  if (h === 'localhost') return true;
  if (isIP(h) === 4) return h.startsWith('127.');
  if (isIP(h) === 6) return h === '::1';
  return false;
}

/** Throws, naming the fix, when development users would be reachable from the network. */
export function assertDevModeAllowed(config: Pick<PagesConfig, 'dev_users' | 'allow_dev_users_on_network'>, listenHost: string | undefined): void {
  if (config.dev_users.length === 0 || config.allow_dev_users_on_network) return;
  if (listenHost === undefined || !isLoopbackHost(listenHost)) {
    throw new Error(
      `approvals.pages.dev_users are for development only, and the API listens on "${listenHost ?? 'an unknown address'}", beyond loopback. ` +
        'Sign in with approvals.pages.oidc instead, bind service.api.endpoint to 127.0.0.1, or (never in production) set approvals.pages.allow_dev_users_on_network: true',
    );
  }
}
