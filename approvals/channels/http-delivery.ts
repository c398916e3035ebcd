// One JSON POST to a chat or webhook endpoint, and the bounded retry loop
// around it, shared by the webhook and Teams channels: which statuses are
// worth retrying, exponential backoff with jitter, a bounded number of tries.
import type { Logger } from 'pino';

export interface PostResult {
  ok: boolean;
  retry: boolean;
  detail: string;
}

/** Throttling and server errors may pass; other 4xx will not. */
const RETRYABLE = (status: number) => status === 408 || status === 425 || status === 429 || status >= 500;

export async function postJson(url: string, body: string, headers: Record<string, string>, timeoutMs: number): Promise<PostResult> {
  try {
    const res = await fetch(url, { method: 'POST', headers: { 'content-type': 'application/json', ...headers }, body, signal: AbortSignal.timeout(timeoutMs) });
    await res.body?.cancel().catch(() => undefined);
    if (res.ok) return { ok: true, retry: false, detail: String(res.status) };
    return { ok: false, retry: RETRYABLE(res.status), detail: `HTTP ${res.status}` };
  } catch (err) {
    // Only the error's name: a URL can carry a secret (Teams Workflows URLs do).
    return { ok: false, retry: true, detail: (err as Error).name };
  }
}

export interface RetryOptions {
  maxAttempts: number;
  initialBackoffMs: number;
  maxBackoffMs: number;
  /** Checked before each retry: a stopped channel gives up instead of waiting. */
  stopped: () => boolean;
  logger: Logger;
  /** Fields for the retry log line (never the URL). */
  describe: Record<string, unknown>;
}

/** 'ok', or why the delivery was given up. */
export async function deliverWithRetry(attempt: () => Promise<PostResult>, o: RetryOptions): Promise<'ok' | 'rejected' | 'retries_exhausted'> {
  for (let n = 1; ; n++) {
    const r = await attempt();
    if (r.ok) return 'ok';
    if (!r.retry) return 'rejected';
    if (n >= o.maxAttempts || o.stopped()) return 'retries_exhausted';
    const base = Math.min(o.maxBackoffMs, o.initialBackoffMs * 2 ** (n - 1));
    const delay = base / 2 + Math.random() * (base / 2);
    o.logger.debug({ ...o.describe, attempt: n, detail: r.detail, delayMs: Math.round(delay) }, 'delivery failed, retrying');
    await new Promise((resolve) => setTimeout(resolve, delay));
  }
}
