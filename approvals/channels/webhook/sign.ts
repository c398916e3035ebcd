// Webhook signing: HMAC-SHA256 over "<timestamp>.<body>", so a receiver can
// check both the body and its freshness (the Stripe / Slack pattern).
import { createHmac, timingSafeEqual } from 'node:crypto';

export const SIGNATURE_HEADER = 'x-sluice-signature';
export const TIMESTAMP_HEADER = 'x-sluice-timestamp';

export function webhookSignature(secret: string, timestamp: string, body: string): string {
  return `sha256=${createHmac('sha256', secret).update(`${timestamp}.${body}`).digest('hex')}`;
}

/** For receivers (and tests): constant-time check of signature and age. */
export function verifyWebhookSignature(
  secret: string,
  headers: { signature?: string; timestamp?: string },
  body: string,
  opts: { toleranceSeconds?: number; nowSeconds?: number } = {},
): boolean {
  const { signature, timestamp } = headers;
  if (!signature || !timestamp || !/^\d+$/.test(timestamp)) return false;
  const now = opts.nowSeconds ?? Math.floor(Date.now() / 1000);
  if (Math.abs(now - Number(timestamp)) > (opts.toleranceSeconds ?? 300)) return false;
  const a = Buffer.from(webhookSignature(secret, timestamp, body));
  const b = Buffer.from(signature);
  return a.length === b.length && timingSafeEqual(a, b);
}
