// Who clicked: a Slack user id becomes an Identity the engine can check
// against the policy (email as id, groups from config).
import type { WebClient } from '@slack/web-api';
import type { Logger } from 'pino';
import type { Identity } from '../../types.js';
import type { SlackConfig } from './config.js';

/**
 * Always answers an identity: a user with no resolvable email becomes
 * `slack:<user id>` with no groups, so the engine refuses (and logs) them
 * unless a policy names that id.
 */
export type SlackUserResolver = (slackUserId: string) => Promise<Identity>;

export function createSlackUserResolver(
  client: WebClient,
  config: Pick<SlackConfig, 'user_map' | 'groups' | 'lookup_users'>,
  logger: Logger,
  cacheMs = 10 * 60_000,
): SlackUserResolver {
  const cache = new Map<string, { at: number; identity: Identity }>();
  const groupsOf = (email: string | undefined, slackId: string) =>
    Object.entries(config.groups)
      .filter(([, members]) => members.some((m) => m === slackId || (email !== undefined && m.toLowerCase() === email.toLowerCase())))
      .map(([g]) => g);

  return async (slackUserId) => {
    const hit = cache.get(slackUserId);
    if (hit && Date.now() - hit.at < cacheMs) return hit.identity;
    let email: string | undefined = config.user_map[slackUserId];
    let name: string | undefined;
    if (config.lookup_users) {
      try {
        const res = await client.users.info({ user: slackUserId });
        const u = res.user;
        name = u?.real_name || u?.profile?.real_name || u?.name;
        if (u?.deleted || u?.is_bot) return { id: `slack:${slackUserId}`, name, groups: [], via: 'slack' };
        email ??= u?.profile?.email;
      } catch (err) {
        logger.warn({ slackUser: slackUserId, err: (err as Error).message }, 'slack: users.info failed');
        // Not cached: the next click tries again.
        if (!email) return { id: `slack:${slackUserId}`, groups: groupsOf(undefined, slackUserId), via: 'slack' };
      }
    }
    const identity: Identity = email
      ? { id: email, email, name, groups: groupsOf(email, slackUserId), via: 'slack' }
      : { id: `slack:${slackUserId}`, name, groups: groupsOf(undefined, slackUserId), via: 'slack' };
    cache.set(slackUserId, { at: Date.now(), identity });
    return identity;
  };
}
