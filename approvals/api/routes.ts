// The approvals REST API, a fastify plugin served on the Sluice API port.
// Every route authenticates first (401), then checks what the identity may do
// (403); eligibility to decide (requester, groups, agents, min_approvals) is
// the engine's, so that refused attempts land in the approval log.
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import type { Logger } from 'pino';
import type { z } from 'zod';
import type { Authenticator } from '../auth/authenticate.js';
import type { ApprovalEngine, DecisionResult, Identity } from '../types.js';
import {
  cancelBodySchema,
  consumeBodySchema,
  decisionBodySchema,
  decisionQuerySchema,
  idParamsSchema,
  listQuerySchema,
  parseWaitMs,
} from './schemas.js';
import { decisionView, requestView } from './views.js';

export interface ApprovalsApiOptions {
  engine: ApprovalEngine;
  auth: Authenticator;
  logger: Logger;
  /** Upper bound for `?wait=` on the decision long-poll. Default 60 s. */
  maxWaitMs?: number;
}

type Access = 'read' | 'await' | 'decide' | 'request';

// OIDC users may read, await and decide; tokens need the matching scope.
function allowed(identity: Identity, access: Access): boolean {
  if (identity.via !== 'token') return access !== 'request';
  const scopes = identity.scopes ?? [];
  switch (access) {
    case 'read':
      return scopes.includes('read') || scopes.includes('decide');
    case 'await':
      return scopes.includes('read') || scopes.includes('decide') || scopes.includes('request');
    case 'decide':
      // Every authenticated caller reaches the engine, which refuses agent
      // tokens and tokens without `decide`, and logs the refusal.
      return true;
    case 'request':
      return scopes.includes('request');
  }
}

const STATUS_ERROR = { 400: 'bad_request', 401: 'unauthorized', 403: 'forbidden', 404: 'not_found', 409: 'conflict' } as const;

function sendError(reply: FastifyReply, status: keyof typeof STATUS_ERROR, message: string) {
  return reply.code(status).send({ error: STATUS_ERROR[status], message });
}

function parse<S extends z.ZodType>(schema: S, value: unknown, reply: FastifyReply, where: string): z.output<S> | undefined {
  const r = schema.safeParse(value ?? {});
  if (r.success) return r.data;
  const issue = r.error.issues[0];
  sendError(reply, 400, `${where}${issue.path.length ? `.${issue.path.join('.')}` : ''}: ${issue.message}`);
  return undefined;
}

export async function registerApprovalsApi(app: FastifyInstance, opts: ApprovalsApiOptions): Promise<void> {
  const { engine, auth, logger } = opts;
  const maxWaitMs = opts.maxWaitMs ?? 60_000;

  async function identify(req: FastifyRequest, reply: FastifyReply, access: Access): Promise<Identity | undefined> {
    const r = await auth.authenticate(req.headers.authorization);
    if (!r.ok) {
      logger.info({ route: req.routeOptions.url, reason: r.message }, 'approvals api: unauthenticated request refused');
      sendError(reply, 401, r.message);
      return undefined;
    }
    if (!allowed(r.identity, access)) {
      logger.info({ route: req.routeOptions.url, identity: r.identity.id, access }, 'approvals api: missing scope');
      sendError(reply, 403, `this credential lacks the scope for this route (${access === 'request' ? 'request' : access === 'decide' ? 'decide' : 'read'})`);
      return undefined;
    }
    return r.identity;
  }

  function sendResult(reply: FastifyReply, result: DecisionResult) {
    if (result.ok) return reply.send(requestView(result.request));
    return sendError(reply, result.status, result.reason);
  }

  app.get('/v1/approvals', async (req, reply) => {
    if (!(await identify(req, reply, 'read'))) return reply;
    const q = parse(listQuerySchema, req.query, reply, 'query');
    if (!q) return reply;
    return { approvals: engine.list({ state: q.state, limit: q.limit }).map(requestView) };
  });

  app.get('/v1/approvals/:id', async (req, reply) => {
    if (!(await identify(req, reply, 'await'))) return reply;
    const p = parse(idParamsSchema, req.params, reply, 'path');
    if (!p) return reply;
    const r = engine.get(p.id);
    return r ? requestView(r) : sendError(reply, 404, `no approval request ${p.id}`);
  });

  app.get('/v1/approvals/:id/decision', async (req, reply) => {
    if (!(await identify(req, reply, 'await'))) return reply;
    const p = parse(idParamsSchema, req.params, reply, 'path');
    const q = p && parse(decisionQuerySchema, req.query, reply, 'query');
    if (!p || !q) return reply;
    let r = engine.get(p.id);
    if (!r) return sendError(reply, 404, `no approval request ${p.id} (yet: the intent span may still be on its way)`);
    const waitMs = Math.min(parseWaitMs(q.wait), maxWaitMs);
    if (r.state === 'pending' && waitMs > 0) r = (await engine.waitForDecision(p.id, waitMs)) ?? r;
    return decisionView(r);
  });

  app.post('/v1/approvals/:id/decisions', async (req, reply) => {
    const identity = await identify(req, reply, 'decide');
    if (!identity) return reply;
    const p = parse(idParamsSchema, req.params, reply, 'path');
    const b = p && parse(decisionBodySchema, req.body, reply, 'body');
    if (!p || !b) return reply;
    const result = await engine.decide({ approvalId: p.id, verdict: b.decision, by: identity, comment: b.comment, channel: 'api' });
    if (!result.ok) logger.info({ approvalId: p.id, identity: identity.id, status: result.status }, 'approvals api: decision refused');
    return sendResult(reply, result);
  });

  app.post('/v1/approvals/:id/consume', async (req, reply) => {
    const identity = await identify(req, reply, 'request');
    if (!identity) return reply;
    const p = parse(idParamsSchema, req.params, reply, 'path');
    const b = p && parse(consumeBodySchema, req.body, reply, 'body');
    if (!p || !b) return reply;
    return sendResult(reply, await engine.consume(p.id, b.actionHash, identity));
  });

  app.post('/v1/approvals/:id/cancel', async (req, reply) => {
    const identity = await identify(req, reply, 'request');
    if (!identity) return reply;
    const p = parse(idParamsSchema, req.params, reply, 'path');
    const b = p && parse(cancelBodySchema, req.body, reply, 'body');
    if (!p || !b) return reply;
    return sendResult(reply, await engine.cancel(p.id, identity, b.comment));
  });
}
