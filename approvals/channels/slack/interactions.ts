// What a click in Slack does, shared by the HTTP endpoint and Socket Mode:
// Approve decides at once; Deny opens a modal asking for the reason, and its
// submission decides. Eligibility is the engine's (refusals are logged there);
// a refused clicker gets an ephemeral note saying why.
import type { WebClient } from '@slack/web-api';
import type { Logger } from 'pino';
import { z } from 'zod';
import type { ApprovalEngine } from '../../types.js';
import { ACTION_APPROVE, ACTION_DENY, DENY_MODAL, DENY_REASON_BLOCK, DENY_REASON_INPUT, denyModal } from './blocks.js';
import type { SlackUserResolver } from './identity.js';

/** The JSON body to answer Slack with (e.g. modal validation errors), if any. */
export type InteractionResponse = Record<string, unknown> | undefined;
export type InteractionHandler = (payload: unknown) => Promise<InteractionResponse>;

const blockActionsSchema = z.object({
  type: z.literal('block_actions'),
  user: z.object({ id: z.string() }),
  trigger_id: z.string().optional(),
  channel: z.object({ id: z.string() }).optional(),
  container: z.object({ channel_id: z.string().optional(), message_ts: z.string().optional() }).optional(),
  message: z.object({ ts: z.string() }).optional(),
  actions: z.array(z.object({ action_id: z.string(), value: z.string().optional() })).min(1),
});

const viewSubmissionSchema = z.object({
  type: z.literal('view_submission'),
  user: z.object({ id: z.string() }),
  view: z.object({
    callback_id: z.string(),
    private_metadata: z.string(),
    state: z.object({ values: z.record(z.string(), z.record(z.string(), z.object({ value: z.string().nullish() }).passthrough())) }),
  }),
});

const metaSchema = z.object({ id: z.string().min(1), channel: z.string().optional(), ts: z.string().optional() });

export function createSlackInteractionHandler(opts: {
  engine: ApprovalEngine;
  client: WebClient;
  resolveUser: SlackUserResolver;
  logger: Logger;
}): InteractionHandler {
  const { engine, client, resolveUser, logger } = opts;

  const tellUser = async (channel: string | undefined, user: string, text: string) => {
    if (!channel) return;
    try {
      await client.chat.postEphemeral({ channel, user, text });
    } catch (err) {
      logger.warn({ err: (err as Error).message }, 'slack: chat.postEphemeral failed');
    }
  };

  const onBlockActions = async (p: z.infer<typeof blockActionsSchema>): Promise<InteractionResponse> => {
    const action = p.actions.find((a) => a.action_id === ACTION_APPROVE || a.action_id === ACTION_DENY);
    if (!action?.value) return undefined;
    const id = action.value;
    const channel = p.container?.channel_id ?? p.channel?.id;
    const ts = p.container?.message_ts ?? p.message?.ts;
    const request = engine.get(id);
    if (!request) {
      await tellUser(channel, p.user.id, `Sluice has no approval request \`${id}\`.`);
      return undefined;
    }
    if (action.action_id === ACTION_DENY) {
      if (!p.trigger_id) return undefined;
      // trigger_id is valid for 3 seconds: open the modal before anything else.
      await client.views.open({ trigger_id: p.trigger_id, view: denyModal(request, { channel, ts }) as never });
      return undefined;
    }
    const by = await resolveUser(p.user.id);
    const result = await engine.decide({ approvalId: id, verdict: 'approve', by, comment: '', channel: 'slack' });
    if (!result.ok) await tellUser(channel, p.user.id, `Your approval was refused: ${result.reason}`);
    return undefined;
  };

  const onViewSubmission = async (p: z.infer<typeof viewSubmissionSchema>): Promise<InteractionResponse> => {
    if (p.view.callback_id !== DENY_MODAL) return undefined;
    let meta;
    try {
      meta = metaSchema.parse(JSON.parse(p.view.private_metadata));
    } catch {
      return { response_action: 'errors', errors: { [DENY_REASON_BLOCK]: 'This form is damaged; click Deny again.' } };
    }
    const reason = (p.view.state.values[DENY_REASON_BLOCK]?.[DENY_REASON_INPUT]?.value ?? '').trim();
    if (reason.length < 3) return { response_action: 'errors', errors: { [DENY_REASON_BLOCK]: 'Say why you deny this request.' } };
    const by = await resolveUser(p.user.id);
    const result = await engine.decide({ approvalId: meta.id, verdict: 'deny', by, comment: reason, channel: 'slack' });
    if (!result.ok) return { response_action: 'errors', errors: { [DENY_REASON_BLOCK]: `Refused: ${result.reason}` } };
    return undefined;
  };

  return async (payload) => {
    const type = (payload as { type?: unknown } | null)?.type;
    if (type === 'block_actions') {
      const p = blockActionsSchema.safeParse(payload);
      if (p.success) return onBlockActions(p.data);
    } else if (type === 'view_submission') {
      const p = viewSubmissionSchema.safeParse(payload);
      if (p.success) return onViewSubmission(p.data);
    }
    logger.debug({ type: typeof type === 'string' ? type : 'unknown' }, 'slack: interaction ignored');
    return undefined;
  };
}

/**
 * Runs the handler but answers by the deadline either way (Slack retries or
 * shows an error after 3 s); work past the deadline finishes in the background.
 */
export async function handleWithin(handler: InteractionHandler, payload: unknown, deadlineMs: number, logger: Logger): Promise<InteractionResponse> {
  let timer: NodeJS.Timeout | undefined;
  const work = handler(payload).catch((err: unknown) => {
    logger.warn({ err: (err as Error).message }, 'slack: interaction failed');
    return undefined;
  });
  const late = new Promise<undefined>((resolve) => {
    timer = setTimeout(() => resolve(undefined), deadlineMs);
  });
  try {
    return await Promise.race([work, late]);
  } finally {
    clearTimeout(timer);
  }
}
