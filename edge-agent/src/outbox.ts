/**
 * The durable store-and-forward queue between the sources and the brokers. A message is
 * appended before anything publishes it and removed only after every broker acknowledged it.
 */
export type MessageKind = 'reading' | 'alert';

/** What travels: the payload as the broker receives it, keyed by its stable id. */
export interface OutboxMessage {
  /** Stable id (e.g. `station/parameter/epoch-ms`); brokers de-duplicate on it. */
  id: string;
  kind: MessageKind;
  siteId: string;
  stationId: string;
  /** The JSON payload, already validated against its contract. */
  body: string;
}

export interface StoredMessage extends OutboxMessage {
  /** Position in the queue, increasing in append order. */
  seq: number;
  enqueuedAtMs: number;
}

/**
 * What to do when the queue is full. `drop-oldest` keeps the newest readings (the present
 * matters most for a warning system); `reject-new` keeps history and refuses what arrives.
 */
export type FullPolicy = 'drop-oldest' | 'reject-new';
export const FULL_POLICIES = ['drop-oldest', 'reject-new'] as const;

export interface AppendResult {
  accepted: number;
  /** Messages lost to the full-queue policy by this append (old ones or new ones). */
  dropped: number;
}

export interface OutboxStats {
  depth: number;
  bytes: number;
  /** Enqueue time of the oldest unsent message, or null when empty. */
  oldestEnqueuedAtMs: number | null;
  /** Total dropped by the full-queue policy since open. */
  droppedTotal: number;
}

export interface Outbox {
  /** Stores messages durably (per the fsync policy) before resolving. */
  append(messages: readonly OutboxMessage[]): Promise<AppendResult>;
  /** The oldest `limit` unacknowledged messages, oldest first; the same until acked. */
  peek(limit: number): Promise<StoredMessage[]>;
  /** Removes acknowledged messages for good. Unknown seqs are ignored (idempotent). */
  ack(seqs: readonly number[]): Promise<void>;
  stats(): OutboxStats;
  close(): Promise<void>;
}

export interface OutboxLimits {
  maxMessages: number;
  maxBytes: number;
  policy: FullPolicy;
}

export const DEFAULT_OUTBOX_MAX_MESSAGES = 200_000;
/** Disk the queue may take; its memory is an index of about 100 bytes per pending message. */
export const DEFAULT_OUTBOX_MAX_BYTES = 64 * 1024 * 1024;

/**
 * The full-queue policy, shared by every implementation: returns how many of the oldest stored
 * messages to evict and how many of the incoming to refuse so the queue stays within limits.
 */
export function planAppend(
  stats: Pick<OutboxStats, 'depth' | 'bytes'>,
  incoming: readonly OutboxMessage[],
  limits: OutboxLimits,
  oldestSizes: () => Iterable<number>,
): { evict: number; refuse: number } {
  const incomingBytes = incoming.reduce((sum, m) => sum + messageBytes(m), 0);
  const overCount = stats.depth + incoming.length - limits.maxMessages;
  const overBytes = stats.bytes + incomingBytes - limits.maxBytes;
  if (overCount <= 0 && overBytes <= 0) return { evict: 0, refuse: 0 };
  if (limits.policy === 'reject-new') {
    let refuse = 0;
    let bytes = incomingBytes;
    for (let i = incoming.length - 1; i >= 0; i--) {
      if (
        incoming.length - refuse + stats.depth <= limits.maxMessages &&
        stats.bytes + bytes <= limits.maxBytes
      )
        break;
      bytes -= messageBytes(incoming[i] as OutboxMessage);
      refuse++;
    }
    return { evict: 0, refuse };
  }
  let evict = 0;
  let freed = 0;
  for (const size of oldestSizes()) {
    if (evict >= Math.max(overCount, 0) && freed >= overBytes) break;
    evict++;
    freed += size;
  }
  // Incoming larger than the whole queue: keep only its newest part.
  const refuse = Math.max(0, incoming.length - limits.maxMessages);
  return { evict, refuse };
}

export function messageBytes(message: OutboxMessage): number {
  return message.body.length + message.id.length + 64;
}
