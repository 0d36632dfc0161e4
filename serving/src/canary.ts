import type { Variant } from './model-hub.js';
import type { GateResult, PromotionPolicy } from './promotion-policy.js';

/** Requests, failures and latencies of each variant since the canary window opened. */
export interface CanaryStats {
  requests: number;
  errors: number;
  errorRate: number;
  p50Ms: number;
}

/** At most this many latencies per variant are kept; later ones replace random earlier ones. */
const MAX_SAMPLES = 50_000;

export interface CanaryMonitor {
  /** Opens a window for `challengerVersion`; `onDue` fires once when the window closes. */
  open(challengerVersion: string, windowMs: number, onDue: () => void): void;
  /** The version whose window is open, or null. */
  readonly version: string | null;
  record(variant: Variant, latencyMs: number, ok: boolean): void;
  stats(): Record<Variant, CanaryStats>;
  /** The health gates of the window: challenger error rate and latency against the champion. */
  verdict(policy: PromotionPolicy['canary']): GateResult[];
  close(): void;
}

interface Samples {
  requests: number;
  errors: number;
  latencies: number[];
}

const empty = (): Samples => ({ requests: 0, errors: 0, latencies: [] });

function median(values: number[]): number {
  if (values.length === 0) return Number.NaN;
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.floor((sorted.length - 1) / 2)] as number;
}

export function createCanaryMonitor(): CanaryMonitor {
  let samples: Record<Variant, Samples> = { champion: empty(), challenger: empty() };
  let timer: NodeJS.Timeout | null = null;
  let version: string | null = null;

  const summarise = (s: Samples): CanaryStats => ({
    requests: s.requests,
    errors: s.errors,
    errorRate: s.requests === 0 ? 0 : s.errors / s.requests,
    p50Ms: median(s.latencies),
  });

  return {
    get version() {
      return version;
    },
    open(challengerVersion, windowMs, onDue) {
      if (timer) clearTimeout(timer);
      samples = { champion: empty(), challenger: empty() };
      version = challengerVersion;
      timer = setTimeout(() => {
        timer = null;
        onDue();
      }, windowMs);
      timer.unref();
    },
    record(variant, latencyMs, ok) {
      if (version === null) return;
      const s = samples[variant];
      s.requests += 1;
      if (!ok) s.errors += 1;
      if (s.latencies.length < MAX_SAMPLES) s.latencies.push(latencyMs);
      else s.latencies[Math.floor(Math.random() * MAX_SAMPLES)] = latencyMs;
    },
    stats: () => ({
      champion: summarise(samples.champion),
      challenger: summarise(samples.challenger),
    }),
    verdict(policy) {
      const champion = summarise(samples.champion);
      const challenger = summarise(samples.challenger);
      const errorIncrease = challenger.errorRate - champion.errorRate;
      const allowedMs = Math.max(
        champion.p50Ms * policy.max_latency_increase,
        policy.latency_slack_ms,
      );
      const latencyIncrease = challenger.p50Ms - champion.p50Ms;
      return [
        {
          gate: 'canary_traffic',
          passed: challenger.requests >= policy.min_requests,
          detail: `${challenger.requests} challenger requests (minimum ${policy.min_requests})`,
        },
        {
          gate: 'canary_error_rate',
          passed: errorIncrease < policy.max_error_rate_increase,
          detail: `challenger ${(challenger.errorRate * 100).toFixed(2)} % vs champion ${(champion.errorRate * 100).toFixed(2)} % errors (max increase ${policy.max_error_rate_increase * 100} points)`,
        },
        {
          gate: 'canary_latency',
          passed: Number.isFinite(latencyIncrease) && latencyIncrease < allowedMs,
          detail: `median ${challenger.p50Ms.toFixed(3)} ms vs champion ${champion.p50Ms.toFixed(3)} ms (allowed +${allowedMs.toFixed(3)} ms)`,
        },
      ];
    },
    close() {
      if (timer) clearTimeout(timer);
      timer = null;
      version = null;
    },
  };
}
