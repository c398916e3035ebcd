// A Teams Workflows webhook on loopback: accepts POSTed JSON messages with
// 202 Accepted (what the Workflows trigger answers), records them, and can be
// told to fail the next posts to exercise retries.
import { createServer, type Server } from 'node:http';
import { createRequire } from 'node:module';
import type { AddressInfo } from 'node:net';

export interface ReceivedCard {
  path: string;
  headers: Record<string, string | string[] | undefined>;
  body: any;
}

export interface FakeTeams {
  /** Base URL; any path is a webhook (`${url}/workflows/a`, `${url}/workflows/b`, …). */
  url: string;
  received: ReceivedCard[];
  /** Statuses to answer the next posts with, in order (then 202 again). */
  failNext(...statuses: number[]): void;
  /** Resolves once `n` cards were accepted in total. */
  waitFor(n: number): Promise<ReceivedCard[]>;
  close(): Promise<void>;
}

export async function startFakeTeams(): Promise<FakeTeams> {
  const received: ReceivedCard[] = [];
  const failures: number[] = [];
  const waiters: Array<{ n: number; resolve: (r: ReceivedCard[]) => void }> = [];

  const server: Server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const fail = failures.shift();
      if (fail !== undefined) {
        res.statusCode = fail;
        res.end('{"error":{"code":"TriggerFailed"}}');
        return;
      }
      if (req.method !== 'POST' || !String(req.headers['content-type']).startsWith('application/json')) {
        res.statusCode = 400;
        res.end('{"error":{"code":"InvalidRequestContent"}}');
        return;
      }
      let body: unknown;
      try {
        body = JSON.parse(Buffer.concat(chunks).toString('utf8'));
      } catch {
        res.statusCode = 400;
        res.end('{"error":{"code":"InvalidJSON"}}');
        return;
      }
      received.push({ path: req.url ?? '/', headers: req.headers, body });
      res.statusCode = 202;
      res.end();
      for (const w of [...waiters]) {
        if (received.length >= w.n) {
          waiters.splice(waiters.indexOf(w), 1);
          w.resolve(received.slice());
        }
      }
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  return {
    url,
    received,
    failNext: (...statuses) => void failures.push(...statuses),
    waitFor: (n) => (received.length >= n ? Promise.resolve(received.slice()) : new Promise((resolve) => waiters.push({ n, resolve }))),
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

// The Adaptive Cards SDK's own parser (the renderer Microsoft ships), loaded
// from its UMD bundle: its ESM build uses extensionless imports Node rejects.
const adaptiveCards = createRequire(import.meta.url)('adaptivecards/dist/adaptivecards.js') as any;

/**
 * Problems the Adaptive Cards SDK finds in a card at `version`: parse events
 * (unknown element types, features newer than the version), validation
 * failures, and any property the SDK does not know (it drops those on a
 * round trip, so Teams would too).
 */
export function adaptiveCardProblems(card: any, version: string): string[] {
  const target = adaptiveCards.Versions[`v${version.replace('.', '_')}`];
  if (!target) return [`unknown Adaptive Card version ${version}`];
  const problems: string[] = [];
  if (card?.type !== 'AdaptiveCard') problems.push('type must be "AdaptiveCard"');
  if (card?.version !== version) problems.push(`version is ${card?.version}, expected ${version}`);
  const ctx = new adaptiveCards.SerializationContext(target);
  const parsed = new adaptiveCards.AdaptiveCard();
  parsed.parse(card, ctx);
  for (let i = 0; i < ctx.eventCount; i++) problems.push(`parse: ${ctx.getEventAt(i).message}`);
  for (const e of parsed.validateProperties().validationEvents) problems.push(`validate: ${e.message}`);
  const round = parsed.toJSON(ctx);
  const strip = (v: any): any => JSON.parse(JSON.stringify(v ?? null));
  if (JSON.stringify(sortKeys(strip(round))) !== JSON.stringify(sortKeys(strip(card)))) problems.push(`round trip differs: ${JSON.stringify(strip(round))}`);
  return problems;
}

function sortKeys(v: any): any {
  if (Array.isArray(v)) return v.map(sortKeys);
  if (v && typeof v === 'object') return Object.fromEntries(Object.keys(v).sort().map((k) => [k, sortKeys(v[k])]));
  return v;
}
