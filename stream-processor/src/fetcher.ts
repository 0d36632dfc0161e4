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
  /** Bytes `start`..`endInclusive` of `path` (an HTTP range request). */
  getRange(path: string, start: number, endInclusive: number): Promise<Uint8Array>;
  /** GET (or POST `body` as JSON) and parse the JSON answer; same retries. */
  json(path: string, body?: unknown): Promise<unknown>;
  url(path: string): string;
  /** The request headers every call sends (for clients that fetch by themselves). */
  readonly headers: Record<string, string>;
  readonly timeoutMs: number;
}

export function createFetcher(options: FetcherOptions): Fetcher {
  const timeoutMs = options.timeoutMs ?? DEFAULT_FETCH_TIMEOUT_MS;
  const retries = options.retries ?? DEFAULT_FETCH_RETRIES;
  const headers = options.headers ?? {};
  const base = options.baseUrl.endsWith('/') ? options.baseUrl : `${options.baseUrl}/`;
  const url = (path: string) => new URL(path, base).toString();
  const request = async (path: string, init: RequestInit): Promise<Response> => {
    let lastError: unknown;
    for (let attempt = 0; attempt <= retries; attempt++) {
      try {
        const response = await fetch(url(path), {
          ...init,
          headers: { ...headers, ...(init.headers as Record<string, string> | undefined) },
          signal: AbortSignal.timeout(timeoutMs),
        });
        if (response.status === 404) throw new NotFoundError(`${url(path)} does not exist`);
        if (response.ok) return response;
        lastError = new Error(`HTTP ${response.status}: ${(await response.text()).slice(0, 200)}`);
        if (response.status !== 429 && response.status < 500) break;
      } catch (e) {
        if (e instanceof NotFoundError) throw e;
        lastError = e;
      }
      if (attempt < retries) await new Promise((r) => setTimeout(r, 100 * 2 ** attempt));
    }
    throw new TransportError(
      `${init.method ?? 'GET'} ${url(path)} failed after ${retries + 1} attempts`,
      { cause: lastError },
    );
  };
  return {
    url,
    headers,
    timeoutMs,
    async get(path) {
      return new Uint8Array(await (await request(path, {})).arrayBuffer());
    },
    async getRange(path, start, endInclusive) {
      const response = await request(path, {
        headers: { range: `bytes=${start}-${endInclusive}` },
      });
      const bytes = new Uint8Array(await response.arrayBuffer());
      // A server that ignores Range answers 200 with the whole file: keep the asked part.
      return response.status === 206 ? bytes : bytes.subarray(start, endInclusive + 1);
    },
    async json(path, body) {
      const response = await request(
        path,
        body === undefined
          ? { headers: { accept: 'application/json, application/geo+json' } }
          : {
              method: 'POST',
              headers: { 'content-type': 'application/json', accept: 'application/geo+json' },
              body: JSON.stringify(body),
            },
      );
      const text = await response.text();
      try {
        return JSON.parse(text) as unknown;
      } catch (cause) {
        throw new TransportError(`${url(path)} did not answer JSON: ${text.slice(0, 120)}`, {
          cause,
        });
      }
    },
  };
}
