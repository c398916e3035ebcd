// Slack request signing (v0): HMAC-SHA256 over `v0:<timestamp>:<raw body>`
// with the app's signing secret, compared in constant time, refused when the
// timestamp is more than five minutes away, and each signature accepted once.
import { createHmac, timingSafeEqual } from 'node:crypto';

export const SLACK_MAX_SKEW_SECONDS = 300;

export function slackSignature(secret: string, timestamp: string, rawBody: string | Buffer): string {
  return `v0=${createHmac('sha256', secret).update(`v0:${timestamp}:`).update(rawBody).digest('hex')}`;
}

export type SignatureCheck = { ok: true } | { ok: false; reason: string };

export function verifySlackSignature(
  secret: string,
  headers: { signature?: string; timestamp?: string },
  rawBody: Buffer,
  nowSeconds = Math.floor(Date.now() / 1000),
): SignatureCheck {
  const { signature, timestamp } = headers;
  if (!signature || !timestamp) return { ok: false, reason: 'missing X-Slack-Signature or X-Slack-Request-Timestamp' };
  if (!/^\d{1,12}$/.test(timestamp)) return { ok: false, reason: 'malformed X-Slack-Request-Timestamp' };
  if (Math.abs(nowSeconds - Number(timestamp)) > SLACK_MAX_SKEW_SECONDS) return { ok: false, reason: 'stale request timestamp (more than 5 minutes off)' };
  const expected = Buffer.from(slackSignature(secret, timestamp, rawBody), 'utf8');
  const given = Buffer.from(signature, 'utf8');
  if (given.length !== expected.length || !timingSafeEqual(given, expected)) return { ok: false, reason: 'signature mismatch' };
  return { ok: true };
}

/**
 * Remembers accepted signatures for the timestamp window: the same signed
 * request sent twice (a replay) is refused. Past the window the timestamp
 * check refuses it anyway, so entries can be forgotten then.
 */
export class ReplayGuard {
  private readonly seen = new Map<string, number>();

  constructor(
    private readonly windowSeconds = SLACK_MAX_SKEW_SECONDS,
    private readonly maxEntries = 100_000,
  ) {}

  /** True the first time a signature is seen inside the window. */
  firstUse(signature: string, nowSeconds = Math.floor(Date.now() / 1000)): boolean {
    this.prune(nowSeconds);
    if (this.seen.has(signature)) return false;
    this.seen.set(signature, nowSeconds + 2 * this.windowSeconds);
    return true;
  }

  private prune(now: number) {
    // Insertion order is expiry order, so the oldest entries sit at the front.
    for (const [sig, exp] of this.seen) {
      if (exp > now && this.seen.size <= this.maxEntries) break;
      this.seen.delete(sig);
    }
  }
}
