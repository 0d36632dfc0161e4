import { AckPolicy, DeliverPolicy, jetstream, jetstreamManager } from '@nats-io/jetstream';
import type { NatsConnection } from '@nats-io/transport-node';
import {
  LOOP_STREAMS,
  natsSubjects,
  type RetrainResult,
  retrainResultSchema,
  TransportError,
} from '@reefguard/core';

/** The durable consumer of retrain results; one rollout controller binds to it at a time. */
export const DEFAULT_ROLLOUT_DURABLE = 'serving-rollout';
/** A decision includes a registry fetch and a reload: give it time before redelivery. */
export const DEFAULT_RESULT_ACK_WAIT_MS = 5 * 60_000;
/** How long the loop streams keep messages, so a trace can still be read back. */
export const LOOP_STREAM_MAX_AGE_MS = 30 * 24 * 3_600_000;

/**
 * Creates the closed loop's streams (drift, retrain, models) unless a stream already takes
 * their subjects, so drift events, requests, results, decisions and announcements are kept
 * for `reefguard trace`. Idempotent; a race with another process creating one is fine.
 */
export async function ensureLoopStreams(nc: NatsConnection): Promise<void> {
  const jsm = await jetstreamManager(nc);
  for (const { name, subjects } of Object.values(LOOP_STREAMS)) {
    const probe = (subjects[0] as string).replace(/>$/, 'probe');
    const existing = await jsm.streams.find(probe).catch(() => null);
    if (existing) continue;
    await jsm.streams
      .add({
        name,
        subjects: [...subjects],
        max_age: LOOP_STREAM_MAX_AGE_MS * 1e6,
        duplicate_window: 120e9,
      })
      .catch(async (cause: unknown) => {
        if (!(await jsm.streams.find(probe).catch(() => null))) {
          throw new TransportError(`could not create the JetStream stream ${name}`, { cause });
        }
      });
  }
}

/** One retrain result, acknowledged only once its decision is recorded. */
export interface ResultDelivery {
  /** The parsed result, or the reason it could not be parsed. */
  readonly result: RetrainResult | { invalid: string };
  readonly redelivered: boolean;
  ack(): void;
  /** Deliver again after `delayMs` (the decision could not be made now). */
  nak(delayMs: number): void;
  /** Never deliver again (a message that can never be valid). */
  term(): void;
}

export interface RetrainResultsSource {
  deliveries(): AsyncIterable<ResultDelivery>;
  close(): Promise<void>;
}

/**
 * Retrain results from a JetStream durable pull consumer: a result not acknowledged within
 * `ackWaitMs` (the controller died mid-decision) comes back to whoever binds next.
 */
export async function createRetrainResultsSource(options: {
  nc: NatsConnection;
  durable?: string;
  ackWaitMs?: number;
}): Promise<RetrainResultsSource> {
  const { nc } = options;
  await ensureLoopStreams(nc);
  const jsm = await jetstreamManager(nc);
  const stream = await jsm.streams.find(natsSubjects.retrainResults);
  const durable = options.durable ?? DEFAULT_ROLLOUT_DURABLE;
  await jsm.consumers.add(stream, {
    durable_name: durable,
    ack_policy: AckPolicy.Explicit,
    deliver_policy: DeliverPolicy.All,
    filter_subject: natsSubjects.retrainResults,
    ack_wait: (options.ackWaitMs ?? DEFAULT_RESULT_ACK_WAIT_MS) * 1e6,
    max_ack_pending: 1,
  });
  const consumer = await jetstream(nc).consumers.get(stream, durable);
  const messages = await consumer.consume({ max_messages: 1 });
  return {
    async *deliveries() {
      for await (const m of messages) {
        let result: ResultDelivery['result'];
        try {
          result = retrainResultSchema.parse(m.json());
        } catch (error) {
          result = { invalid: error instanceof Error ? error.message : String(error) };
        }
        yield {
          result,
          redelivered: m.redelivered,
          ack: () => m.ack(),
          nak: (delayMs: number) => m.nak(delayMs),
          term: () => m.term(),
        };
      }
    },
    async close() {
      await messages.close();
    },
  };
}
