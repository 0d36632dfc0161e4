import { randomUUID } from 'node:crypto';
import {
  createSlidingPsi,
  DEFAULT_PSI_THRESHOLD,
  type DriftEvent,
  type FeatureVector,
  type ModelCard,
  type RetrainRequest,
  type SlidingPsi,
} from '@reefguard/core';
import type { ProcessorMetrics } from './metrics.js';
import type { Notifier } from './slack.js';

/**
 * Streaming drift: for every feature of the champion card, PSI of a sliding window of live
 * values against the card's reference bins. Each check publishes a drift event and sets the
 * gauge; when PSI stays above the threshold for `sustainChecks` checks in a row and at least
 * `sustainMs`, one retrain request and one Slack alert go out for the episode (de-duplicated
 * across instances through `claim`).
 */
export const DEFAULT_PSI_WINDOW = 500;
export const DEFAULT_PSI_CHECK_EVERY = 100;
export const DEFAULT_SUSTAIN_CHECKS = 3;
export const DEFAULT_SUSTAIN_MS = 15 * 60 * 1000;
/** One retrain request per model version and day at most. */
export const RETRAIN_DEDUP_MS = 24 * 60 * 60 * 1000;

export interface DriftMonitorOptions {
  card: Pick<ModelCard, 'version' | 'features'>;
  publishDrift: (event: DriftEvent) => Promise<void>;
  publishRetrain: (request: RetrainRequest) => Promise<void>;
  notifier: Notifier | null;
  metrics: ProcessorMetrics;
  /** Shared "first one wins" (Redis SET NX); an in-process set when absent. */
  claim?: (key: string, ttlMs: number) => Promise<boolean>;
  windowSize?: number;
  checkEvery?: number;
  threshold?: number;
  sustainChecks?: number;
  sustainMs?: number;
  now?: () => number;
}

export interface DriftMonitor {
  observe(vector: FeatureVector): Promise<void>;
  /** Latest PSI per feature. */
  psi(): Record<string, number>;
}

interface FeatureDrift {
  window: SlidingPsi;
  sinceCheck: number;
  windowStartMs: number;
  driftedChecks: number;
  driftedSinceMs: number | null;
  lastPsi: number;
}

export function createDriftMonitor(options: DriftMonitorOptions): DriftMonitor {
  const windowSize = options.windowSize ?? DEFAULT_PSI_WINDOW;
  const checkEvery = options.checkEvery ?? DEFAULT_PSI_CHECK_EVERY;
  const threshold = options.threshold ?? DEFAULT_PSI_THRESHOLD;
  const sustainChecks = options.sustainChecks ?? DEFAULT_SUSTAIN_CHECKS;
  const sustainMs = options.sustainMs ?? DEFAULT_SUSTAIN_MS;
  const now = options.now ?? Date.now;
  const claimed = new Set<string>();
  const claim =
    options.claim ??
    (async (key: string) => {
      if (claimed.has(key)) return false;
      claimed.add(key);
      return true;
    });
  const features = new Map<string, FeatureDrift>();
  for (const f of options.card.features) {
    features.set(f.name, {
      window: createSlidingPsi(f.psi_reference, windowSize),
      sinceCheck: 0,
      windowStartMs: now(),
      driftedChecks: 0,
      driftedSinceMs: null,
      lastPsi: 0,
    });
  }
  const episodeFeatures = new Set<string>();
  // One trace id per drift episode: its drifted events, the retrain request and everything
  // the rollout does with it share it; it ends when no feature is drifted any more.
  let episodeTrace: string | null = null;

  async function check(name: string, state: FeatureDrift) {
    const t = now();
    const psi = state.window.psi();
    state.lastPsi = psi;
    state.sinceCheck = 0;
    const drifted = psi > threshold;
    options.metrics.psi.set({ feature: name }, psi);
    if (drifted) episodeTrace ??= randomUUID();
    await options.publishDrift({
      schema_version: 1,
      id: `${options.card.version}/${name}/${t}`,
      trace_id: drifted ? (episodeTrace as string) : randomUUID(),
      feature: name,
      psi,
      threshold,
      drifted,
      window_start: new Date(state.windowStartMs).toISOString(),
      window_end: new Date(t).toISOString(),
      window_count: state.window.count,
      model_version: options.card.version,
    });
    if (!drifted) {
      state.driftedChecks = 0;
      state.driftedSinceMs = null;
      episodeFeatures.delete(name);
      if ([...features.values()].every((f) => f.driftedChecks === 0)) episodeTrace = null;
      return;
    }
    state.driftedChecks += 1;
    state.driftedSinceMs ??= t;
    if (state.driftedChecks < sustainChecks || t - state.driftedSinceMs < sustainMs) return;
    episodeFeatures.add(name);
    if (!(await claim(`retrain:${options.card.version}`, RETRAIN_DEDUP_MS))) return;
    const traceId = episodeTrace ?? randomUUID();
    const drifting = [...episodeFeatures];
    await options.publishRetrain({
      schema_version: 1,
      id: `drift/${options.card.version}/${new Date(t).toISOString().slice(0, 10)}`,
      trace_id: traceId,
      reason: 'drift',
      features: drifting,
      requested_at: new Date(t).toISOString(),
      requested_by: 'stream-processor',
    });
    await options.notifier?.notify(
      `drift:${options.card.version}`,
      `:warning: ReefGuard drift: PSI of ${drifting.join(', ')} above ${threshold} for ${sustainChecks} checks (model ${options.card.version}); retrain requested (trace ${traceId})`,
    );
  }

  return {
    async observe(vector) {
      for (const [name, state] of features) {
        const value = vector.values[name];
        if (value === null || value === undefined) continue;
        state.window.add(value);
        state.sinceCheck += 1;
        if (
          state.sinceCheck >= checkEvery &&
          state.window.count >= Math.min(windowSize, checkEvery)
        ) {
          await check(name, state);
        }
      }
    },
    psi: () => Object.fromEntries([...features].map(([name, s]) => [name, s.lastPsi])),
  };
}
