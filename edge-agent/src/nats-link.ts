import { jetstreamManager } from '@nats-io/jetstream';
import {
  connect,
  createInbox,
  headers,
  type Msg,
  type NatsConnection,
} from '@nats-io/transport-node';
import { natsSubjects, type Secret, STREAMS, TransportError } from '@reefguard/core';
import type { StoredMessage } from './outbox.js';
import type { Publisher } from './publisher.js';

export interface NatsLinkOptions {
  url: string;
  agentId: string;
  token?: Secret;
  username?: string;
  password?: Secret;
  /** PEM contents for TLS (read from files by the CLI). */
  tls?: { ca?: string; cert?: string; key?: Secret };
  /** Create the readings stream when it does not exist (single-node and test setups). */
  ensureStream?: { name: string; duplicateWindowMs: number };
  reconnectBaseMs?: number;
  publishTimeoutMs?: number;
  onAnnouncement?: (payload: string) => void;
  /** Cloud feature vectors for this site (the agent's context while online). */
  onFeatures?: { siteId: string; handler: (payload: string) => void };
}

export const DEFAULT_READINGS_STREAM = 'READINGS';
/** JetStream drops a repeated msg id inside this window; retries after outages fall in it. */
export const DEFAULT_DUPLICATE_WINDOW_MS = 10 * 60_000;
export const DEFAULT_NATS_PUBLISH_TIMEOUT_MS = 10_000;

/**
 * Publishes readings to JetStream with the reading id as `msgID`, so the server stores a
 * retried reading once. Alerts go to MQTT only (the topic table has no NATS alert subject).
 */
export function connectNatsLink(options: NatsLinkOptions): Publisher {
  let nc: NatsConnection | null = null;
  let connected = false;
  let closed = false;
  const acks = createAckInbox();
  // Connects in the background until the server appears: an agent must start offline.
  const ready = connect({
    servers: options.url,
    name: `reefguard-edge-${options.agentId}`,
    token: options.token?.reveal(),
    user: options.username,
    pass: options.password?.reveal(),
    tls: options.tls
      ? { ca: options.tls.ca, cert: options.tls.cert, key: options.tls.key?.reveal() }
      : undefined,
    reconnect: true,
    maxReconnectAttempts: -1,
    reconnectTimeWait: options.reconnectBaseMs ?? 500,
    reconnectJitter: options.reconnectBaseMs ?? 500,
    waitOnFirstConnect: true,
  }).then(async (connection) => {
    nc = connection;
    if (closed) {
      await connection.close();
      return connection;
    }
    void (async () => {
      for await (const event of connection.status()) {
        if (event.type === 'disconnect') connected = false;
        if (event.type === 'reconnect') connected = true;
      }
    })();
    if (options.ensureStream) {
      const jsm = await jetstreamManager(connection);
      const { name, duplicateWindowMs } = options.ensureStream;
      // Any stream that already takes readings (e.g. the stream processor's) is used as it is.
      const existing = await jsm.streams
        .find(natsSubjects.reading(options.agentId))
        .catch(() => null);
      if (!existing) {
        await jsm.streams.add({
          name,
          subjects: [STREAMS.READINGS],
          duplicate_window: duplicateWindowMs * 1_000_000,
        });
      }
    }
    if (options.onAnnouncement)
      subscribe(connection, natsSubjects.modelAnnouncements, options.onAnnouncement);
    if (options.onFeatures)
      subscribe(
        connection,
        natsSubjects.features(options.onFeatures.siteId),
        options.onFeatures.handler,
      );
    acks.listen(connection);
    connected = true;
    return connection;
  });
  ready.catch(() => undefined);
  const timeout = options.publishTimeoutMs ?? DEFAULT_NATS_PUBLISH_TIMEOUT_MS;
  return {
    broker: 'nats',
    isConnected: () => connected && nc !== null && !nc.isClosed(),
    async publish(messages: readonly StoredMessage[]) {
      const connection = nc;
      if (!connected || !connection)
        throw new TransportError(`NATS ${options.url} is not connected`);
      try {
        await acks.publishAll(
          connection,
          messages.filter((message) => message.kind === 'reading'),
          timeout,
        );
      } catch (cause) {
        throw new TransportError(`JetStream at ${options.url} did not acknowledge the batch`, {
          cause,
        });
      }
    },
    async close() {
      closed = true;
      connected = false;
      if (nc) await nc.drain().catch(() => nc?.close());
    },
  };
}

function subscribe(nc: NatsConnection, subject: string, handler: (payload: string) => void) {
  const sub = nc.subscribe(subject);
  void (async () => {
    for await (const msg of sub) handler(msg.string());
  })();
}

interface PendingAck {
  resolve(): void;
  reject(error: Error): void;
}

/**
 * JetStream publishing with many acks in flight (what `PublishAsync` is in other clients):
 * each reading goes out as a plain publish with a `Nats-Msg-Id` header and a reply subject
 * under one inbox; the stream's PubAck (or error) arrives there. nats.js's `js.publish`
 * awaits one request per message and builds two error objects each time, which halves the
 * rate on a small CPU.
 */
function createAckInbox() {
  const inbox = createInbox();
  const pending = new Map<string, PendingAck>();
  let next = 0;
  function settle(msg: Msg) {
    const token = msg.subject.slice(inbox.length + 1);
    const entry = pending.get(token);
    if (!entry) return;
    pending.delete(token);
    if (msg.headers?.hasError) {
      entry.reject(
        new Error(
          `JetStream answered ${msg.headers.code} ${msg.headers.description}: is there a stream for this subject?`,
        ),
      );
      return;
    }
    const ack = msg.json<{ error?: { code: number; description: string } }>();
    if (ack.error)
      entry.reject(new Error(`JetStream error ${ack.error.code}: ${ack.error.description}`));
    else entry.resolve();
  }
  return {
    listen(nc: NatsConnection) {
      nc.subscribe(`${inbox}.*`, { callback: (_error, msg) => settle(msg) });
    },
    publishAll(nc: NatsConnection, messages: readonly StoredMessage[], timeoutMs: number) {
      const tokens: string[] = [];
      const all = Promise.all(
        messages.map(
          (message) =>
            new Promise<void>((resolve, reject) => {
              const token = String(next++);
              tokens.push(token);
              pending.set(token, { resolve, reject });
              const h = headers();
              h.set('Nats-Msg-Id', message.id);
              nc.publish(natsSubjects.reading(message.siteId), message.body, {
                reply: `${inbox}.${token}`,
                headers: h,
              });
            }),
        ),
      );
      let timer: NodeJS.Timeout | undefined;
      const expired = new Promise<never>((_, reject) => {
        timer = setTimeout(() => reject(new Error(`no PubAck within ${timeoutMs} ms`)), timeoutMs);
      });
      return Promise.race([all, expired]).finally(() => {
        clearTimeout(timer);
        for (const token of tokens) pending.delete(token);
      });
    },
  };
}
