import { appendFile, mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import { connect, type NatsConnection } from '@nats-io/transport-node';
import { type Secret, TransportError } from '@reefguard/core';
import { readJsonLines } from './sections.js';

/**
 * The loop's events as the report reads them: every message on the drift, retrain, model and
 * quarantine subjects, one JSON line per message in `<stateDir>/events/<kind>.jsonl`, in the
 * order they arrived. The demo records them while it runs; the report only reads the files.
 */
export const EVENT_KINDS = {
  drift: 'reefguard.v1.drift.>',
  retrain: 'reefguard.v1.retrain.>',
  models: 'reefguard.v1.models.>',
  quarantine: 'reefguard.v1.quarantine.>',
} as const;

export type EventKind = keyof typeof EVENT_KINDS;

export interface RecordedEvent {
  subject: string;
  received_at: string;
  data: unknown;
}

export const eventFile = (stateDir: string, kind: EventKind) =>
  join(stateDir, 'events', `${kind}.jsonl`);

export async function readEvents(stateDir: string, kind: EventKind): Promise<RecordedEvent[]> {
  return (await readJsonLines(eventFile(stateDir, kind))) as RecordedEvent[];
}

export interface EventRecorder {
  /** Messages written so far, by kind. */
  counts(): Record<EventKind, number>;
  /** Waits until everything received is on disk, then unsubscribes and disconnects. */
  close(): Promise<void>;
}

/** Subscribes to the loop's subjects (core NATS) and appends each message to its file. */
export async function startEventRecorder(options: {
  natsUrl: string;
  natsToken?: Secret;
  stateDir: string;
}): Promise<EventRecorder> {
  let nc: NatsConnection;
  try {
    nc = await connect({
      servers: options.natsUrl,
      ...(options.natsToken ? { token: options.natsToken.reveal() } : {}),
    });
  } catch (cause) {
    throw new TransportError(`cannot connect to NATS at ${options.natsUrl} to record events`, {
      cause,
    });
  }
  await mkdir(join(options.stateDir, 'events'), { recursive: true });
  const counts = Object.fromEntries(Object.keys(EVENT_KINDS).map((k) => [k, 0])) as Record<
    EventKind,
    number
  >;
  const loops = (Object.entries(EVENT_KINDS) as [EventKind, string][]).map(
    async ([kind, subject]) => {
      const path = eventFile(options.stateDir, kind);
      for await (const message of nc.subscribe(subject)) {
        let data: unknown;
        try {
          data = message.json();
        } catch {
          data = { undecodable: message.string() };
        }
        const line: RecordedEvent = {
          subject: message.subject,
          received_at: new Date().toISOString(),
          data,
        };
        await appendFile(path, `${JSON.stringify(line)}\n`);
        counts[kind] += 1;
      }
    },
  );
  await nc.flush();
  let closed: Promise<void> | null = null;
  return {
    counts: () => ({ ...counts }),
    close() {
      closed ??= nc.drain().then(async () => {
        await Promise.all(loops);
      });
      return closed;
    },
  };
}
