import { connect as connectNats, type NatsConnection } from '@nats-io/transport-node';
import { natsSubjects, type Prediction, type Secret } from '@reefguard/core';

/**
 * Every answer of the prediction routes also goes to NATS `reefguard.v1.predictions.{site}`
 * (audit, report) without costing the response anything: `publish` only appends to a bounded
 * in-memory buffer; a timer serialises and sends the buffer in batches. When NATS is slow or
 * down the buffer fills and further predictions are dropped and counted, never waited for.
 */
export interface PredictionPublisher {
  /** Queues one prediction; never blocks, never throws. */
  publish(prediction: Prediction): void;
  stats(): PublisherStats;
  /** Sends what is buffered now (when connected). */
  flush(): Promise<void>;
  /** Sends what it can within `timeoutMs`, then closes the connection. */
  close(timeoutMs?: number): Promise<void>;
}

export interface PublisherStats {
  published: number;
  /** Dropped because the buffer was full (NATS slow or unreachable). */
  droppedFull: number;
  /** Dropped because the connection refused them (closed, payload too large). */
  droppedError: number;
  buffered: number;
}

export interface PredictionPublisherOptions {
  natsUrl: string;
  natsToken?: Secret;
  /** Predictions held while NATS is away; later ones are dropped. */
  maxBuffered?: number;
  /** How often the buffer is sent, at most. */
  flushIntervalMs?: number;
  /** Keep the published predictions in this JetStream stream (created unless one holds the subjects); null: core NATS only. */
  stream?: string | null;
  /** Called once per failure to connect or create the stream, for the log. */
  onError?: (error: unknown) => void;
}

export const DEFAULT_MAX_BUFFERED = 10_000;
export const DEFAULT_FLUSH_INTERVAL_MS = 20;
export const DEFAULT_PREDICTIONS_STREAM = 'REEFGUARD_PREDICTIONS';
const RECONNECT_WAIT_MS = 500;
const CONNECT_TIMEOUT_MS = 5_000;
/** Predictions are kept a week in the stream: long enough for the report and audits. */
export const PREDICTIONS_MAX_AGE_MS = 7 * 24 * 3_600_000;

const encoder = new TextEncoder();

export function createPredictionPublisher(
  options: PredictionPublisherOptions,
): PredictionPublisher {
  const maxBuffered = options.maxBuffered ?? DEFAULT_MAX_BUFFERED;
  const intervalMs = options.flushIntervalMs ?? DEFAULT_FLUSH_INTERVAL_MS;
  const stream = options.stream === undefined ? DEFAULT_PREDICTIONS_STREAM : options.stream;
  let buffer: Prediction[] = [];
  const stats = { published: 0, droppedFull: 0, droppedError: 0 };
  let nc: NatsConnection | null = null;
  // While NATS is away nothing is handed to the client (whose own buffer has no bound).
  let online = false;
  let closed = false;
  let timer: NodeJS.Timeout | null = null;

  // Connects in the background, retrying until the server answers or the publisher closes;
  // the buffer waits meanwhile. (nats.js' own waitOnFirstConnect cannot be cancelled.)
  let retry: NodeJS.Timeout | null = null;
  let wake: (() => void) | null = null;
  const connecting = (async () => {
    let reported = false;
    while (!closed) {
      try {
        const connection = await connectNats({
          servers: options.natsUrl,
          token: options.natsToken?.reveal(),
          name: 'reefguard-serving-predictions',
          maxReconnectAttempts: -1,
          reconnectTimeWait: RECONNECT_WAIT_MS,
          timeout: CONNECT_TIMEOUT_MS,
        });
        if (stream) await ensureStream(connection, stream).catch(options.onError);
        if (closed) {
          await connection.close();
          return;
        }
        nc = connection;
        online = true;
        void watch(connection);
        schedule();
        return;
      } catch (error) {
        // Reported once; the dropped counter shows how long it lasts.
        if (!reported) options.onError?.(error);
        reported = true;
        await new Promise<void>((done) => {
          wake = done;
          retry = setTimeout(done, RECONNECT_WAIT_MS);
        });
      }
    }
  })();

  async function watch(connection: NatsConnection) {
    for await (const status of connection.status()) {
      if (status.type === 'disconnect') online = false;
      if (status.type === 'reconnect') {
        online = true;
        schedule();
      }
    }
  }

  function schedule() {
    if (timer || closed || !online || buffer.length === 0) return;
    timer = setTimeout(() => {
      timer = null;
      send();
    }, intervalMs);
    timer.unref();
  }

  function send() {
    const connection = nc;
    if (!connection || !online || buffer.length === 0) return;
    const batch = buffer;
    buffer = [];
    for (const prediction of batch) {
      try {
        // Core publish: nats.js queues it and writes the batch in one go at its next flush.
        connection.publish(
          natsSubjects.prediction(prediction.site_id),
          encoder.encode(JSON.stringify(prediction)),
        );
        stats.published += 1;
      } catch {
        stats.droppedError += 1;
      }
    }
  }

  return {
    publish(prediction) {
      if (closed || buffer.length >= maxBuffered) {
        stats.droppedFull += 1;
        return;
      }
      buffer.push(prediction);
      schedule();
    },
    stats: () => ({ ...stats, buffered: buffer.length }),
    async flush() {
      send();
      if (online) await nc?.flush();
    },
    async close(timeoutMs = 2_000) {
      if (closed) return;
      if (timer) clearTimeout(timer);
      timer = null;
      send();
      closed = true;
      if (retry) clearTimeout(retry);
      (wake as (() => void) | null)?.();
      const connection = nc;
      if (!connection || !online) {
        stats.droppedFull += buffer.length;
        buffer = [];
        // The background connect sees `closed` and closes what it opens.
        await connection?.close().catch(() => {});
        return;
      }
      await Promise.race([
        connection.flush().catch(() => {}),
        new Promise((done) => setTimeout(done, timeoutMs).unref()),
      ]);
      await connection.close().catch(() => {});
      await connecting;
    },
  };
}

/**
 * Creates `name` over `reefguard.v1.predictions.>` through the JetStream API unless a stream
 * already holds those subjects (the report or an operator may have made its own).
 */
async function ensureStream(nc: NatsConnection, name: string): Promise<void> {
  const subjects = natsSubjects.prediction('>');
  const request = async (subject: string, body: unknown) => {
    const reply = await nc.request(subject, JSON.stringify(body), { timeout: 5_000 });
    const answer = reply.json<{ error?: { description: string }; streams?: string[] | null }>();
    if (answer.error) throw new Error(`${subject}: ${answer.error.description}`);
    return answer;
  };
  const holding = await request('$JS.API.STREAM.NAMES', {
    subject: natsSubjects.prediction('probe'),
  });
  if (holding.streams && holding.streams.length > 0) return;
  await request(`$JS.API.STREAM.CREATE.${name}`, {
    name,
    subjects: [subjects],
    retention: 'limits',
    storage: 'file',
    max_age: PREDICTIONS_MAX_AGE_MS * 1e6,
    discard: 'old',
  }).catch(async (cause: unknown) => {
    // Another server may have created it meanwhile.
    const again = await request('$JS.API.STREAM.NAMES', {
      subject: natsSubjects.prediction('probe'),
    });
    if (!again.streams || again.streams.length === 0) throw cause;
  });
}
