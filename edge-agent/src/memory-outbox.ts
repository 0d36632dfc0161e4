import {
  DEFAULT_OUTBOX_MAX_BYTES,
  DEFAULT_OUTBOX_MAX_MESSAGES,
  type FullPolicy,
  messageBytes,
  type Outbox,
  planAppend,
  type StoredMessage,
} from './outbox.js';

/**
 * A queue in memory only: nothing survives a restart. For agents whose readings can be
 * fetched again (AIMS history) and as the baseline the durable queue is measured against.
 */
export function createMemoryOutbox(
  options: {
    maxMessages?: number;
    maxBytes?: number;
    policy?: FullPolicy;
    now?: () => number;
  } = {},
): Outbox {
  const limits = {
    maxMessages: options.maxMessages ?? DEFAULT_OUTBOX_MAX_MESSAGES,
    maxBytes: options.maxBytes ?? DEFAULT_OUTBOX_MAX_BYTES,
    policy: options.policy ?? 'drop-oldest',
  };
  const now = options.now ?? Date.now;
  const pending = new Map<number, StoredMessage>();
  let nextSeq = 1;
  let bytes = 0;
  let droppedTotal = 0;
  return {
    async append(messages) {
      const plan = planAppend({ depth: pending.size, bytes }, messages, limits, function* () {
        for (const message of pending.values()) yield messageBytes(message);
      });
      let evicted = 0;
      for (const [seq, message] of pending) {
        if (evicted >= plan.evict) break;
        pending.delete(seq);
        bytes -= messageBytes(message);
        evicted++;
      }
      const keep =
        limits.policy === 'reject-new'
          ? messages.slice(0, messages.length - plan.refuse)
          : messages.slice(plan.refuse);
      const enqueuedAtMs = now();
      for (const message of keep) {
        const seq = nextSeq++;
        pending.set(seq, { ...message, seq, enqueuedAtMs });
        bytes += messageBytes(message);
      }
      droppedTotal += plan.evict + plan.refuse;
      return { accepted: keep.length, dropped: plan.evict + plan.refuse };
    },
    async peek(limit) {
      const out: StoredMessage[] = [];
      for (const message of pending.values()) {
        if (out.length >= limit) break;
        out.push(message);
      }
      return out;
    },
    async ack(seqs) {
      for (const seq of seqs) {
        const message = pending.get(seq);
        if (!message) continue;
        pending.delete(seq);
        bytes -= messageBytes(message);
      }
    },
    stats() {
      const oldest = pending.values().next().value;
      return {
        depth: pending.size,
        bytes,
        oldestEnqueuedAtMs: oldest?.enqueuedAtMs ?? null,
        droppedTotal,
      };
    },
    async close() {
      pending.clear();
    },
  };
}
