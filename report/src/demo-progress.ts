import { type MetricSample, parsePrometheusText } from './counters.js';

/** `[demo HH:MM:SS +m:ss] message`: wall clock and time since the demo began. */
export function createProgress(startedMs: number, write: (line: string) => void = console.log) {
  const stamp = () => {
    const elapsed = Math.round((Date.now() - startedMs) / 1000);
    const clock = new Date().toISOString().slice(11, 19);
    return `${clock} +${Math.floor(elapsed / 60)}:${String(elapsed % 60).padStart(2, '0')}`;
  };
  return {
    step: (message: string) => write(`\n[demo ${stamp()}] ${message}`),
    info: (message: string) => write(`[demo ${stamp()}]   ${message}`),
  };
}

export type Progress = ReturnType<typeof createProgress>;

/** GET a Prometheus endpoint and parse it; null when it does not answer. */
export async function scrape(url: string): Promise<MetricSample[] | null> {
  try {
    const response = await fetch(url, { signal: AbortSignal.timeout(5_000) });
    if (!response.ok) return null;
    return parsePrometheusText(await response.text());
  } catch {
    return null;
  }
}

/** Polls `check` every `everyMs` until it returns a value, or throws after `timeoutMs`. */
export async function waitFor<T>(
  what: string,
  check: () => Promise<T | null | undefined | false>,
  options: { timeoutMs: number; everyMs?: number; signal?: AbortSignal; onTick?: () => void },
): Promise<T> {
  const deadline = Date.now() + options.timeoutMs;
  for (;;) {
    options.signal?.throwIfAborted();
    const value = await check();
    if (value) return value;
    if (Date.now() > deadline)
      throw new Error(`timed out after ${options.timeoutMs / 1000} s waiting for ${what}`);
    options.onTick?.();
    await new Promise((resolve) => setTimeout(resolve, options.everyMs ?? 1_000));
  }
}
