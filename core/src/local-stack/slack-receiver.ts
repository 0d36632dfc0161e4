import { appendFile } from 'node:fs/promises';
import { createServer, type IncomingMessage } from 'node:http';
import type { AddressInfo } from 'node:net';
import { TransportError } from '../errors.js';

/** The parts of a Slack incoming-webhook payload that Alertmanager sends. */
export interface SlackPayload {
  channel?: string;
  username?: string;
  text?: string;
  attachments?: Array<{
    title?: string;
    title_link?: string;
    pretext?: string;
    text?: string;
    fallback?: string;
    color?: string;
  }>;
  blocks?: unknown[];
}

export interface SlackMessage {
  receivedAt: string;
  /** The webhook path it was posted to (Slack's are /services/T.../B.../...). */
  path: string;
  payload: SlackPayload;
}

export interface SlackReceiver {
  /** The URL to post to, as a Slack incoming-webhook URL would be given. */
  readonly url: string;
  readonly port: number;
  /** Every accepted message so far, oldest first. */
  messages(): readonly SlackMessage[];
  /** Resolves with the first message (past or future) that matches, or rejects at the timeout. */
  waitFor(
    match: (message: SlackMessage) => boolean,
    options?: { timeoutMs?: number; signal?: AbortSignal },
  ): Promise<SlackMessage>;
  close(): Promise<void>;
}

export interface SlackReceiverOptions {
  port?: number;
  /** Appends every accepted message as one JSON line (the demo's record of what Slack got). */
  recordFile?: string;
}

export const DEFAULT_SLACK_WAIT_MS = 30_000;
const MAX_BODY_BYTES = 1 << 20;

/** All the human-readable text of a message: text, pretext, titles and attachment texts. */
export function slackMessageText(message: SlackMessage): string {
  const { payload } = message;
  const parts = [payload.text ?? ''];
  for (const a of payload.attachments ?? [])
    parts.push(a.pretext ?? '', a.title ?? '', a.text ?? '');
  return parts.filter(Boolean).join('\n');
}

async function readBody(request: IncomingMessage): Promise<string> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of request) {
    size += (chunk as Buffer).length;
    if (size > MAX_BODY_BYTES) throw new Error('payload_too_large');
    chunks.push(chunk as Buffer);
  }
  return Buffer.concat(chunks).toString('utf8');
}

/** Slack answers 400 with a short reason for payloads it would not post: so does this. */
function checkPayload(value: unknown): SlackPayload | string {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) return 'invalid_payload';
  const payload = value as SlackPayload;
  const hasText = typeof payload.text === 'string' && payload.text.length > 0;
  const hasAttachments = Array.isArray(payload.attachments) && payload.attachments.length > 0;
  const hasBlocks = Array.isArray(payload.blocks) && payload.blocks.length > 0;
  return hasText || hasAttachments || hasBlocks ? payload : 'no_text';
}

/**
 * A local stand-in for a Slack incoming webhook (node:http on loopback): accepts POSTed JSON
 * the way Slack does ("ok", or 400 "invalid_payload" / "no_text"), and records it for tests
 * and the demo report.
 */
export async function startSlackReceiver(
  options: SlackReceiverOptions = {},
): Promise<SlackReceiver> {
  const received: SlackMessage[] = [];
  const waiters = new Set<(message: SlackMessage) => void>();
  const server = createServer((request, response) => {
    const reply = (status: number, body: string) => {
      response.writeHead(status, { 'content-type': 'text/plain' });
      response.end(body);
    };
    if (request.method !== 'POST') return reply(405, 'invalid_method: POST a JSON payload');
    readBody(request).then(
      async (body) => {
        let parsed: unknown;
        try {
          parsed = JSON.parse(body);
        } catch {
          return reply(400, 'invalid_payload');
        }
        const payload = checkPayload(parsed);
        if (typeof payload === 'string') return reply(400, payload);
        const message = { receivedAt: new Date().toISOString(), path: request.url ?? '/', payload };
        received.push(message);
        if (options.recordFile)
          await appendFile(options.recordFile, `${JSON.stringify(message)}\n`);
        for (const waiter of waiters) waiter(message);
        reply(200, 'ok');
      },
      (error: unknown) => reply(413, String((error as Error).message)),
    );
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port ?? 0, '127.0.0.1', resolve);
  });
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}/services/local/reefguard/webhook`,
    port,
    messages: () => received,
    waitFor(match, waitOptions = {}) {
      const found = received.find(match);
      if (found) return Promise.resolve(found);
      const timeoutMs = waitOptions.timeoutMs ?? DEFAULT_SLACK_WAIT_MS;
      return new Promise((resolve, reject) => {
        const done = () => {
          clearTimeout(timer);
          waiters.delete(waiter);
          waitOptions.signal?.removeEventListener('abort', onAbort);
        };
        const waiter = (message: SlackMessage) => {
          if (!match(message)) return;
          done();
          resolve(message);
        };
        const onAbort = () => {
          done();
          reject(waitOptions.signal?.reason);
        };
        const timer = setTimeout(() => {
          done();
          const seen = received.map((m) => slackMessageText(m).split('\n')[0]).join(' | ');
          reject(
            new TransportError(
              `no matching Slack message within ${timeoutMs} ms; received ${received.length}: ${seen || 'none'}`,
            ),
          );
        }, timeoutMs);
        waiters.add(waiter);
        waitOptions.signal?.addEventListener('abort', onAbort, { once: true });
      });
    },
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
