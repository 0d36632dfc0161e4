import { NotFoundError, TransportError } from '@reefguard/core';

/** HTTP GET of product files under a configurable base URL, with a timeout and retries. */
export const DEFAULT_FETCH_TIMEOUT_MS = 60_000;
export const DEFAULT_FETCH_RETRIES = 3;

export interface FetcherOptions {
  baseUrl: string;
  timeoutMs?: number;
  retries?: number;
  /** Extra request headers (e.g. an API key), never logged. */
  headers?: Record<string, string>;
}

export interface Fetcher {
  /** The bytes of `path` under the base URL; NotFoundError for a 404 (no retry). */
  get(path: string): Promise<Uint8Array>;
  url(path: string): string;
}

export function createFetcher(options: FetcherOptions): Fetcher {
  const timeoutMs = options.timeoutMs ?? DEFAULT_FETCH_TIMEOUT_MS;
  const retries = options.retries ?? DEFAULT_FETCH_RETRIES;
  const base = options.baseUrl.endsWith('/') ? options.baseUrl : `${options.baseUrl}/`;
  const url = (path: string) => new URL(path, base).toString();
  return {
    url,
    async get(path) {
      let lastError: unknown;
      for (let attempt = 0; attempt <= retries; attempt++) {
        try {
          const response = await fetch(url(path), {
            ...(options.headers ? { headers: options.headers } : {}),
            signal: AbortSignal.timeout(timeoutMs),
          });
          if (response.status === 404) throw new NotFoundError(`${url(path)} does not exist`);
          if (response.ok) return new Uint8Array(await response.arrayBuffer());
          lastError = new Error(`HTTP ${response.status}`);
          if (response.status !== 429 && response.status < 500) break;
        } catch (e) {
          if (e instanceof NotFoundError) throw e;
          lastError = e;
        }
        await new Promise((r) => setTimeout(r, 100 * 2 ** attempt));
      }
      throw new TransportError(`GET ${url(path)} failed after ${retries + 1} attempts`, {
        cause: lastError,
      });
    },
  };
}
