import type { FastifyInstance } from 'fastify';
import type { ChipLayers } from './chip-layers.js';
import type { OnlineFeatures } from './feature-store.js';
import type { Lease } from './model-hub.js';
import type { OfflineFeatureReader } from './offline-features.js';
import type { InferenceStatus } from './plugins/metrics.js';
import {
  type AnswerTimings,
  FeaturesUnavailableError,
  freshnessProblem,
  type PredictOptions,
  predictSites,
  type ServedPrediction,
} from './predictor.js';

/** One site's answer in a batch: the prediction, or why there is none. */
export type SiteAnswer =
  | { ok: true; prediction: ServedPrediction }
  | {
      ok: false;
      site_id: string;
      status: 404 | 503;
      error: string;
      reason?: string;
      message: string;
    };

export interface PredictSettings {
  maxAgeMs: number;
  degraded: PredictOptions['degraded'];
  /** Past days of the risk map; without it they are unavailable. */
  offline?: OfflineFeatureReader;
  /** Chips for models with a ViT member; without them those answer degraded. */
  chipLayers?: ChipLayers;
}

/** Where a request's features come from: the online store (Redis) unless told otherwise. */
export type FeatureSource = (siteIds: readonly string[]) => Promise<OnlineFeatures[]>;

/**
 * Answers for a list of sites: one Redis round trip for all of them, then one session run per
 * model that serves some of them. A challenger failure is recorded against the challenger and
 * the site is answered by the champion, so the canary never fails a request.
 */
export async function answerSites(
  app: FastifyInstance,
  siteIds: readonly string[],
  timeMs: number,
  settings: PredictSettings,
  source?: FeatureSource,
  timings?: AnswerTimings,
): Promise<SiteAnswer[]> {
  const options: PredictOptions = {
    timeMs,
    maxAgeMs: settings.maxAgeMs,
    degraded: settings.degraded,
    chipLayers: settings.chipLayers,
    siteOf: (siteId) => app.sites.get(siteId),
    timings,
  };
  const known = siteIds.filter((id) => app.sites.has(id));
  const fetchStart = performance.now();
  let features: OnlineFeatures[];
  try {
    features = await (source ?? app.features.read)(known);
    const fetchMs = performance.now() - fetchStart;
    if (timings) timings.featuresMs += fetchMs;
    app.metrics.featureFetchLatency.observe({ status: 'ok' }, fetchMs / 1e3);
  } catch (error) {
    app.metrics.featureFetchLatency.observe(
      { status: 'error' },
      (performance.now() - fetchStart) / 1e3,
    );
    throw error;
  }
  const bySite = new Map(known.map((id, i) => [id, features[i] ?? null]));
  const answers = new Map<string, SiteAnswer>();
  const groups = new Map<
    Lease['model'],
    { lease: Lease; items: Array<{ siteId: string; features: NonNullable<OnlineFeatures> }> }
  >();
  const leases: Lease[] = [];
  try {
    for (const siteId of siteIds) {
      if (!bySite.has(siteId)) {
        answers.set(siteId, {
          ok: false,
          site_id: siteId,
          status: 404,
          error: 'NotFoundError',
          message: `unknown site "${siteId}": not in the site catalogue`,
        });
        continue;
      }
      const siteFeatures = bySite.get(siteId) ?? null;
      const problem = freshnessProblem(siteId, siteFeatures, options);
      if (problem || !siteFeatures) {
        app.metrics.recordInference('none', 'none', 'unavailable', null);
        answers.set(siteId, {
          ok: false,
          site_id: siteId,
          status: 503,
          error: 'FeaturesUnavailableError',
          reason: problem?.reason,
          message: problem?.message ?? `no features for site ${siteId}`,
        });
        continue;
      }
      const lease = app.models.hub.lease(siteId);
      leases.push(lease);
      const group = groups.get(lease.model) ?? { lease, items: [] };
      group.items.push({ siteId, features: siteFeatures });
      groups.set(lease.model, group);
    }
    for (const { lease, items } of groups.values()) {
      for (const [i, answer] of (await runGroup(app, lease, items, options, leases)).entries()) {
        answers.set((items[i] as (typeof items)[number]).siteId, answer);
      }
    }
  } finally {
    for (const lease of leases) lease.release();
  }
  return siteIds.map((id) => answers.get(id) as SiteAnswer);
}

function unavailable(siteId: string, error: FeaturesUnavailableError): SiteAnswer {
  return {
    ok: false,
    site_id: siteId,
    status: 503,
    error: error.name,
    reason: error.reason,
    message: error.message,
  };
}

async function runGroup(
  app: FastifyInstance,
  lease: Lease,
  items: Array<{ siteId: string; features: NonNullable<OnlineFeatures> }>,
  options: PredictOptions,
  leases: Lease[],
): Promise<SiteAnswer[]> {
  const started = performance.now();
  const observe = (status: InferenceStatus, ms: number, n: number, baseline = false) => {
    // A CRW-baseline answer came from physics, not from the leased model.
    const variant = baseline ? 'crw-baseline' : lease.variant;
    const version = baseline ? 'crw-baseline' : lease.model.version;
    for (let i = 0; i < n; i++) {
      app.metrics.recordInference(variant, version, status, ms / 1e3);
      // The canary judges the leased model: an answer it could not give (error, or a fall back
      // to the CRW baseline) counts against it, or a model without its inputs would pass.
      app.models.canary.record(lease.variant, ms, status !== 'error' && !baseline);
    }
  };
  try {
    const predictions = await predictSites(items, lease, options);
    const ms = performance.now() - started;
    return predictions.map((p, i) => {
      if (p instanceof FeaturesUnavailableError) {
        observe('unavailable', ms, 1);
        return unavailable((items[i] as (typeof items)[number]).siteId, p);
      }
      observe(p.degraded ? 'degraded' : 'ok', ms, 1, p.variant === 'crw-baseline');
      return { ok: true, prediction: p };
    });
  } catch (error) {
    observe('error', performance.now() - started, items.length);
    if (lease.variant !== 'challenger') throw error;
    app.log.warn(
      { err: error, version: lease.model.version },
      'challenger failed; champion answers',
    );
    const fallback = app.models.hub.lease(null);
    leases.push(fallback);
    return runGroup(app, fallback, items, options, leases);
  }
}
