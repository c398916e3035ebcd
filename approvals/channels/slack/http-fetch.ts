// The fetch WebClient calls Slack with: plain node:http(s) requests on
// keep-alive agents. Node's built-in fetch (undici) costs several times more
// CPU per small request (Request and stream objects, abort controllers, a
// WASM parser) and Sluice makes two Slack calls per approval on the same
// event loop that answers the agents' long-polls. WebClient keeps its
// queue, retries and rate-limit handling; only the transport is swapped.
import { Agent as HttpAgent, request as httpRequest, type IncomingMessage } from 'node:http';
import { Agent as HttpsAgent, request as httpsRequest } from 'node:https';

type Fetch = typeof globalThis.fetch;

export function createSlackFetch(): Fetch {
  const httpAgent = new HttpAgent({ keepAlive: true });
  const httpsAgent = new HttpsAgent({ keepAlive: true });

  const slackFetch = (input: Parameters<Fetch>[0], init: RequestInit = {}): Promise<Response> => {
    const body = init.body;
    // WebClient sends url-encoded strings; anything else (multipart uploads) takes the standard path.
    if (body !== undefined && body !== null && typeof body !== 'string') return globalThis.fetch(input, init);
    const url = new URL(typeof input === 'string' ? input : input instanceof URL ? input.href : input.url);
    const secure = url.protocol === 'https:';
    const headers: Record<string, string> = {};
    new Headers(init.headers).forEach((v, k) => (headers[k] = v));
    const payload = body === undefined || body === null ? undefined : Buffer.from(body, 'utf8');
    if (payload) headers['content-length'] = String(payload.length);
    const signal = init.signal ?? undefined;

    return new Promise<Response>((resolve, reject) => {
      if (signal?.aborted) return reject(signal.reason);
      const req = (secure ? httpsRequest : httpRequest)(url, { method: init.method ?? 'GET', headers, agent: secure ? httpsAgent : httpAgent });
      const onAbort = () => req.destroy(signal?.reason instanceof Error ? signal.reason : new Error('aborted'));
      signal?.addEventListener('abort', onAbort, { once: true });
      const done = () => signal?.removeEventListener('abort', onAbort);
      req.on('error', (err) => {
        done();
        reject(err);
      });
      req.on('response', (res: IncomingMessage) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('error', (err) => {
          done();
          reject(err);
        });
        res.on('end', () => {
          done();
          const h = new Headers();
          for (let i = 0; i + 1 < res.rawHeaders.length; i += 2) h.append(res.rawHeaders[i] as string, res.rawHeaders[i + 1] as string);
          const status = res.statusCode ?? 0;
          const noBody = status === 204 || status === 205 || status === 304;
          resolve(new Response(noBody ? null : Buffer.concat(chunks), { status, statusText: res.statusMessage ?? '', headers: h }));
        });
      });
      req.end(payload);
    });
  };
  return slackFetch as Fetch;
}
