// POST /slack/interactions: Slack's HTTP delivery of button clicks and modal
// submissions. The signature is checked over the raw body before anything is
// parsed; a replayed signed request is refused like a forged one.
import type { FastifyInstance } from 'fastify';
import type { Logger } from 'pino';
import { handleWithin, type InteractionHandler } from './interactions.js';
import { ReplayGuard, verifySlackSignature } from './signature.js';

export interface SlackRoutesOptions {
  handler: InteractionHandler;
  signingSecret: string;
  logger: Logger;
  /** Answer Slack by then even if the decision is still being written. Default 2500 ms. */
  ackTimeoutMs?: number;
  path?: string;
  replayGuard?: ReplayGuard;
  /** Seconds clock, for tests. */
  nowSeconds?: () => number;
}

export async function registerSlackRoutes(app: FastifyInstance, opts: SlackRoutesOptions): Promise<void> {
  const guard = opts.replayGuard ?? new ReplayGuard();
  const now = opts.nowSeconds ?? (() => Math.floor(Date.now() / 1000));
  const { logger } = opts;

  await app.register(async (scope) => {
    // Encapsulated: the raw-body parser applies to this route only.
    scope.removeAllContentTypeParsers();
    scope.addContentTypeParser('*', { parseAs: 'buffer', bodyLimit: 1024 * 1024 }, (_req, body, done) => done(null, body));

    scope.post(opts.path ?? '/slack/interactions', async (req, reply) => {
      const raw = Buffer.isBuffer(req.body) ? req.body : Buffer.alloc(0);
      const signature = req.headers['x-slack-signature'];
      const timestamp = req.headers['x-slack-request-timestamp'];
      const check = verifySlackSignature(
        opts.signingSecret,
        { signature: typeof signature === 'string' ? signature : undefined, timestamp: typeof timestamp === 'string' ? timestamp : undefined },
        raw,
        now(),
      );
      if (!check.ok) {
        logger.warn({ reason: check.reason }, 'slack: interaction refused');
        return reply.code(401).send({ error: 'unauthorized', message: check.reason });
      }
      if (!guard.firstUse(signature as string, now())) {
        logger.warn({ reason: 'replay' }, 'slack: interaction refused');
        return reply.code(401).send({ error: 'unauthorized', message: 'replayed request (this signature was already used)' });
      }
      let payload: unknown;
      try {
        const field = new URLSearchParams(raw.toString('utf8')).get('payload');
        if (field === null) throw new Error('no payload field');
        payload = JSON.parse(field);
      } catch {
        return reply.code(400).send({ error: 'bad_request', message: 'expected application/x-www-form-urlencoded with a JSON `payload` field' });
      }
      const response = await handleWithin(opts.handler, payload, opts.ackTimeoutMs ?? 2500, logger);
      return response ? reply.code(200).send(response) : reply.code(200).send();
    });
  });
}
