import type { StoredMessage } from './outbox.js';

export type BrokerName = 'mqtt' | 'nats';

/** One broker the outbox drains into. */
export interface Publisher {
  readonly broker: BrokerName;
  /** Whether the client holds a live connection now (the forwarder waits when not). */
  isConnected(): boolean;
  /**
   * Resolves once the broker acknowledged every message (MQTT QoS 1 PUBACK, JetStream ack);
   * rejects with TransportError otherwise. Messages may arrive twice; their ids de-duplicate.
   */
  publish(messages: readonly StoredMessage[]): Promise<void>;
  close(): Promise<void>;
}

/** Jittered exponential backoff: `baseMs * 2^attempt`, capped, times a factor in [0.5, 1.5). */
export function backoffMs(attempt: number, baseMs: number, maxMs: number, random = Math.random) {
  return Math.min(maxMs, baseMs * 2 ** Math.min(attempt, 20)) * (0.5 + random());
}
