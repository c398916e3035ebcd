// The console's view of recent approval events: a bounded ring kept from the
// engine's event stream (optionally seeded from the log at start). The full
// history stays in the journal and ClickHouse; this is what fits a screen.
import type { ApprovalEngine, ApprovalEvent, ApprovalEventType } from '../types.js';

export interface EventFilter {
  state?: string;
  policy?: string;
  agent?: string;
  approver?: string;
  type?: ApprovalEventType;
  types?: readonly ApprovalEventType[];
  approvalId?: string;
  limit?: number;
}

export interface RecentEvent {
  event: ApprovalEvent;
  policy: string;
  rule: string;
  agent: string;
  state: string;
}

export interface RecentEvents {
  list(filter?: EventFilter): RecentEvent[];
  /** Adds one event (the engine subscription does this; seeding too). */
  add(event: ApprovalEvent, request?: { policy: { policy: string; rule: string }; agent: string; state: string }): void;
  stop(): void;
}

const norm = (s: string | undefined) => (s ?? '').trim().toLowerCase();

export function createRecentEvents(engine: ApprovalEngine, capacity: number): RecentEvents {
  const ring: RecentEvent[] = [];
  let next = 0;

  const add: RecentEvents['add'] = (event, request) => {
    const data = (event.data ?? {}) as Record<string, unknown>;
    const s = (v: unknown) => (typeof v === 'string' ? v : '');
    const item: RecentEvent = {
      event,
      policy: request?.policy.policy ?? s(data.policy),
      rule: request?.policy.rule ?? s(data.rule),
      agent: request?.agent ?? s(data.agent),
      state: request?.state ?? '',
    };
    if (ring.length < capacity) ring.push(item);
    else ring[next] = item;
    next = (next + 1) % capacity;
  };

  // The console shows the log as it is, a record that lost a race included (beside the request's true state).
  const unsubscribe = engine.onEvent((event, request) => add(event, request), { all: true });

  return {
    add,
    list(filter = {}) {
      const out: RecentEvent[] = [];
      const limit = filter.limit ?? 200;
      // Newest first.
      for (let i = 0; i < ring.length && out.length < limit; i++) {
        const item = ring[(next - 1 - i + ring.length * 2) % ring.length]!;
        if (filter.approvalId !== undefined && item.event.approvalId !== filter.approvalId) continue;
        if (filter.type && item.event.type !== filter.type) continue;
        if (filter.types && !filter.types.includes(item.event.type)) continue;
        if (filter.state && norm(item.state) !== norm(filter.state) && norm(item.event.type) !== norm(filter.state)) continue;
        if (filter.policy && !`${norm(item.policy)}/${norm(item.rule)}`.includes(norm(filter.policy))) continue;
        if (filter.agent && !norm(item.agent).includes(norm(filter.agent))) continue;
        if (filter.approver) {
          const a = item.event.actor;
          if (!a || !(norm(a.id).includes(norm(filter.approver)) || norm(a.name).includes(norm(filter.approver)))) continue;
        }
        out.push(item);
      }
      return out;
    },
    stop: unsubscribe,
  };
}
