import { setTimeout as sleep } from 'node:timers/promises';
import type { Logger } from 'pino';
import type { AgentMetrics } from './metrics.js';
import type { Outbox, StoredMessage } from './outbox.js';
import { type BrokerName, backoffMs, type Publisher } from './publisher.js';

export interface ForwarderOptions {
  outbox: Outbox;
  publishers: readonly Publisher[];
  logger: Logger;
  metrics?: AgentMetrics;
  /** Messages per publish round; the next round starts only after this one is acknowledged. */
  batchSize?: number;
  /** A round not acknowledged in this time is retried (the ids make repeats harmless). */
  publishTimeoutMs?: number;
  idlePollMs?: number;
  retryBaseMs?: number;
  retryMaxMs?: number;
}

export const DEFAULT_BATCH_SIZE = 500;
export const DEFAULT_PUBLISH_TIMEOUT_MS = 15_000;
/** Failed rounds (about a second with the default backoff) before an outage is logged. */
const QUIET_FAILURES = 3;

/** Drains the outbox into every publisher, oldest first, acknowledging only what all took. */
export interface Forwarder {
  /** Runs until `signal` aborts; wakes early when `notify()` says something was appended. */
  run(signal: AbortSignal): Promise<void>;
  /** Publishes until the outbox is empty or `signal` aborts; resolves with what is left. */
  drain(signal: AbortSignal): Promise<number>;
  notify(): void;
  /** Messages acknowledged by every broker since start. */
  acked(): number;
}

export function createForwarder(options: ForwarderOptions): Forwarder {
  const { outbox, publishers, logger, metrics } = options;
  const batchSize = options.batchSize ?? DEFAULT_BATCH_SIZE;
  const timeoutMs = options.publishTimeoutMs ?? DEFAULT_PUBLISH_TIMEOUT_MS;
  const idlePollMs = options.idlePollMs ?? 250;
  const retryBaseMs = options.retryBaseMs ?? 200;
  const retryMaxMs = options.retryMaxMs ?? 10_000;
  let wake: (() => void) | null = null;
  let failures = 0;
  let ackedTotal = 0;

  /**
   * Publishes one batch to every broker that has not yet taken it; retries on failure with
   * backoff. Returns false only when aborted before every broker acknowledged.
   */
  async function deliver(batch: StoredMessage[], signal: AbortSignal): Promise<boolean> {
    const done = new Set<BrokerName>();
    while (!signal.aborted) {
      const todo = publishers.filter((p) => !done.has(p.broker));
      const results = await Promise.allSettled(
        todo.map(async (publisher) => {
          await withTimeout(publisher.publish(batch), timeoutMs, publisher.broker);
          done.add(publisher.broker);
          metrics?.published.inc({ broker: publisher.broker }, batch.length);
        }),
      );
      const failed = results.flatMap((r, i) =>
        r.status === 'rejected' ? [{ r, p: todo[i] }] : [],
      );
      if (failed.length === 0) {
        if (failures >= QUIET_FAILURES) {
          logger.info({ afterFailures: failures }, 'brokers reachable again, draining');
        }
        failures = 0;
        return true;
      }
      for (const { r, p } of failed) {
        metrics?.publishFailures.inc({ broker: p?.broker ?? 'unknown' });
        // One line when an outage starts, then quiet until it ends. The first few tries are
        // quiet: at start-up the links are still connecting.
        if (failures === QUIET_FAILURES) {
          logger.warn(
            { broker: p?.broker, err: (r as PromiseRejectedResult).reason },
            'publish failed, readings stay queued',
          );
        }
      }
      const delay = backoffMs(failures++, retryBaseMs, retryMaxMs);
      await sleep(delay, undefined, { signal }).catch(() => undefined);
    }
    return false;
  }

  async function step(signal: AbortSignal): Promise<'sent' | 'empty' | 'aborted'> {
    const batch = await outbox.peek(batchSize);
    if (batch.length === 0) return 'empty';
    if (!(await deliver(batch, signal))) return 'aborted';
    await outbox.ack(batch.map((m) => m.seq));
    ackedTotal += batch.length;
    return 'sent';
  }

  return {
    async run(signal) {
      while (!signal.aborted) {
        const outcome = await step(signal);
        if (outcome !== 'empty') continue;
        await new Promise<void>((resolve) => {
          const timer = setTimeout(done, idlePollMs);
          function done() {
            clearTimeout(timer);
            signal.removeEventListener('abort', done);
            wake = null;
            resolve();
          }
          wake = done;
          signal.addEventListener('abort', done, { once: true });
        });
      }
    },
    async drain(signal) {
      while (!signal.aborted && (await step(signal)) === 'sent') {
        // keep going until empty
      }
      return outbox.stats().depth;
    },
    notify() {
      wake?.();
    },
    acked: () => ackedTotal,
  };
}

async function withTimeout<T>(promise: Promise<T>, ms: number, broker: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`${broker} gave no ack within ${ms} ms`)), ms);
  });
  try {
    return await Promise.race([promise, timeout]);
  } finally {
    clearTimeout(timer);
  }
}
