import { type Secret, TransportError } from '@reefguard/core';

/**
 * Slack incoming-webhook notifier (`POST {"text": ...}`), de-duplicated per key and
 * rate-limited, with retries on 429/5xx honouring Retry-After. The webhook URL is a secret.
 */
export const DEFAULT_SLACK_DEDUP_MS = 60 * 60 * 1000;
export const DEFAULT_SLACK_MAX_PER_MINUTE = 10;
export const DEFAULT_SLACK_TIMEOUT_MS = 5_000;
export const DEFAULT_SLACK_RETRIES = 3;

export type NotifyResult = 'sent' | 'duplicate' | 'rate_limited';

export interface Notifier {
  /** Sends `text` unless the same `key` was sent within the de-dup window. */
  notify(key: string, text: string): Promise<NotifyResult>;
}

export interface SlackOptions {
  webhookUrl: Secret;
  dedupMs?: number;
  maxPerMinute?: number;
  timeoutMs?: number;
  retries?: number;
  /** Shared de-dup (e.g. Redis SET NX) so several instances send one message; true = first. */
  claim?: (key: string, ttlMs: number) => Promise<boolean>;
  now?: () => number;
}

export function createSlackNotifier(options: SlackOptions): Notifier {
  const dedupMs = options.dedupMs ?? DEFAULT_SLACK_DEDUP_MS;
  const maxPerMinute = options.maxPerMinute ?? DEFAULT_SLACK_MAX_PER_MINUTE;
  const retries = options.retries ?? DEFAULT_SLACK_RETRIES;
  const timeoutMs = options.timeoutMs ?? DEFAULT_SLACK_TIMEOUT_MS;
  const now = options.now ?? Date.now;
  const sentAt = new Map<string, number>();
  const recent: number[] = [];

  async function post(text: string): Promise<void> {
    let lastError: unknown;
    for (let attempt = 0; attempt <= retries; attempt++) {
      try {
        const response = await fetch(options.webhookUrl.reveal(), {
          method: 'POST',
          headers: { 'content-type': 'application/json' },
          body: JSON.stringify({ text }),
          signal: AbortSignal.timeout(timeoutMs),
        });
        if (response.ok) return;
        lastError = new Error(`Slack answered ${response.status}`);
        if (response.status !== 429 && response.status < 500) break;
        const retryAfterS = Number(response.headers.get('retry-after') ?? Number.NaN);
        await sleep(Number.isFinite(retryAfterS) ? retryAfterS * 1000 : 200 * 2 ** attempt);
      } catch (e) {
        lastError = e;
        await sleep(200 * 2 ** attempt);
      }
    }
    // The URL is a secret: never put it in the message.
    throw new TransportError('Slack webhook failed; check REEFGUARD_SLACK_WEBHOOK_URL', {
      cause: lastError,
    });
  }

  return {
    async notify(key, text) {
      const t = now();
      const last = sentAt.get(key);
      if (last !== undefined && t - last < dedupMs) return 'duplicate';
      while (recent.length > 0 && t - (recent[0] as number) >= 60_000) recent.shift();
      if (recent.length >= maxPerMinute) return 'rate_limited';
      if (options.claim && !(await options.claim(key, dedupMs))) {
        sentAt.set(key, t);
        return 'duplicate';
      }
      sentAt.set(key, t);
      recent.push(t);
      await post(text);
      return 'sent';
    },
  };
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));
