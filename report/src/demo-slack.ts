import { appendFile, mkdir } from 'node:fs/promises';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { dirname } from 'node:path';

export interface SlackReceiver {
  /** The incoming-webhook URL to give the senders. */
  readonly url: string;
  received(): number;
  close(): Promise<void>;
}

/**
 * Stands in for Slack's incoming webhook on loopback: every POST body (JSON) is appended to
 * `logFile` as `{received_at, body}` and answered 200 "ok", as Slack does.
 */
export async function startSlackReceiver(logFile: string): Promise<SlackReceiver> {
  await mkdir(dirname(logFile), { recursive: true });
  let count = 0;
  const server = createServer((request, response) => {
    const chunks: Buffer[] = [];
    request.on('data', (chunk: Buffer) => chunks.push(chunk));
    request.on('end', () => {
      const text = Buffer.concat(chunks).toString('utf8');
      let body: unknown;
      try {
        body = JSON.parse(text);
      } catch {
        response.writeHead(400, { 'content-type': 'text/plain' }).end('invalid_payload');
        return;
      }
      count += 1;
      const line = JSON.stringify({
        received_at: new Date().toISOString(),
        path: request.url,
        body,
      });
      appendFile(logFile, `${line}\n`).then(
        () => response.writeHead(200, { 'content-type': 'text/plain' }).end('ok'),
        () => response.writeHead(500).end('log write failed'),
      );
    });
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', resolve);
  });
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}/services/demo/webhook`,
    received: () => count,
    close: () => new Promise((resolve) => server.close(() => resolve())),
  };
}
