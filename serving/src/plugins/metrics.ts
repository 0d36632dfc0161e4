import type { FastifyInstance } from 'fastify';
import fp from 'fastify-plugin';
import { Counter, Gauge, Histogram, Registry } from 'prom-client';
import { registerRuntimeMetrics } from '../runtime-metrics.js';

declare module 'fastify' {
  interface FastifyInstance {
    metrics: ServingMetrics;
  }
}

export type InferenceStatus = 'ok' | 'degraded' | 'unavailable' | 'error';

/**
 * Where the time of one `POST /v1/predict` goes, in ms: `parse` request received -> handler
 * (body parse and validation), `features` the online-store round trip, `model` the session run
 * (answer and attribution rows together), `answer` the rest of the handler (routing, input rows,
 * answer objects, canary and metrics bookkeeping, publish enqueue), `respond` handler -> response
 * written (serialisation, hooks, socket), `total` request received -> response written.
 */
export interface PredictStages {
  parse: number;
  features: number;
  model: number;
  answer: number;
  respond: number;
  total: number;
}

export const PREDICT_STAGES = [
  'parse',
  'features',
  'model',
  'answer',
  'respond',
  'total',
] as const satisfies ReadonlyArray<keyof PredictStages>;

export interface ServingMetrics {
  readonly registry: Registry;
  readonly inferenceLatency: Histogram<'variant' | 'model_version' | 'status'>;
  readonly inferenceCount: Counter<'variant' | 'model_version' | 'status'>;
  readonly featureFetchLatency: Histogram<'status'>;
  readonly predictStages: Histogram<'stage'>;
  /** One request's stage times (ms) into `reefguard_predict_stage_seconds`. */
  recordPredictStages(stages: PredictStages): void;
  /** One answer: latency histogram and count under the same labels (hot path, cached). */
  recordInference(
    variant: string,
    modelVersion: string,
    status: InferenceStatus,
    seconds: number | null,
  ): void;
}

/** Sub-millisecond buckets: a warm small model answers in well under 10 ms. */
const LATENCY_BUCKETS = [0.0005, 0.001, 0.002, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 1];
/** Finer below 10 ms, where the latency goal is: stages take tens of microseconds. */
const STAGE_BUCKETS = [
  0.00005, 0.0001, 0.0002, 0.0005, 0.001, 0.002, 0.005, 0.01, 0.02, 0.05, 0.1, 0.25, 1,
];

/** Prometheus instruments in a registry of this app (tests build many apps in one process). */
export default fp(
  async (app) => {
    const registry = new Registry();
    const labelNames = ['variant', 'model_version', 'status'] as const;
    const inferenceLatency = new Histogram({
      name: 'reefguard_inference_latency_seconds',
      help: 'Time from features read to prediction, per variant and model version',
      labelNames,
      buckets: LATENCY_BUCKETS,
      registers: [registry],
    });
    const inferenceCount = new Counter({
      name: 'reefguard_inference_count_total',
      help: 'Predictions answered, per variant, model version and status',
      labelNames,
      registers: [registry],
    });
    // prom-client hashes the label object on every observe; the children of the few label
    // combinations are looked up once instead.
    const children = new Map<
      string,
      { latency: Histogram.Internal<string>; count: Counter.Internal }
    >();
    const predictStages = new Histogram({
      name: 'reefguard_predict_stage_seconds',
      help: 'Where the time of POST /v1/predict goes: parse, features, model, answer, respond, and the total',
      labelNames: ['stage'],
      buckets: STAGE_BUCKETS,
      registers: [registry],
    });
    const stageChildren = PREDICT_STAGES.map(
      (stage) => [stage, predictStages.labels({ stage })] as const,
    );
    const metrics: ServingMetrics = {
      registry,
      inferenceLatency,
      inferenceCount,
      predictStages,
      recordPredictStages(stages) {
        for (const [stage, child] of stageChildren) child.observe(stages[stage] / 1e3);
      },
      recordInference(variant, modelVersion, status, seconds) {
        const key = `${variant}\u0000${modelVersion}\u0000${status}`;
        let child = children.get(key);
        if (!child) {
          const labels = { variant, model_version: modelVersion, status };
          child = {
            latency: inferenceLatency.labels(labels),
            count: inferenceCount.labels(labels),
          };
          children.set(key, child);
        }
        if (seconds !== null) child.latency.observe(seconds);
        child.count.inc();
      },
      featureFetchLatency: new Histogram({
        name: 'reefguard_feature_fetch_latency_seconds',
        help: 'One round trip to the online feature store (Redis)',
        labelNames: ['status'],
        buckets: LATENCY_BUCKETS,
        registers: [registry],
      }),
    };
    new Gauge({
      name: 'reefguard_model_info',
      help: 'The loaded models: 1 per alias with its version and sha256',
      labelNames: ['alias', 'name', 'version', 'sha256'],
      registers: [registry],
      collect() {
        this.reset();
        const set = app.models.hub.current();
        for (const alias of ['champion', 'challenger'] as const) {
          const model = set?.[alias];
          if (model) {
            this.set(
              { alias, name: model.card.name, version: model.version, sha256: model.sha256 },
              1,
            );
          }
        }
      },
    });
    new Gauge({
      name: 'reefguard_canary_weight',
      help: 'Share of sites routed to the challenger',
      registers: [registry],
      collect() {
        const set = app.models.hub.current();
        this.set(set?.challenger ? set.challengerWeight : 0);
      },
    });
    const publisher = app.predictions;
    if (publisher) {
      new Counter({
        name: 'reefguard_predictions_published_total',
        help: 'Predictions handed to NATS reefguard.v1.predictions.{site}',
        registers: [registry],
        collect() {
          this.reset();
          this.inc(publisher.stats().published);
        },
      });
      new Counter({
        name: 'reefguard_predictions_dropped_total',
        help: 'Predictions not published: buffer full (NATS slow or away) or refused by the client',
        labelNames: ['reason'],
        registers: [registry],
        collect() {
          const stats = publisher.stats();
          this.reset();
          this.inc({ reason: 'buffer_full' }, stats.droppedFull);
          this.inc({ reason: 'error' }, stats.droppedError);
        },
      });
      new Gauge({
        name: 'reefguard_predictions_buffered',
        help: 'Predictions waiting for NATS',
        registers: [registry],
        collect() {
          this.set(publisher.stats().buffered);
        },
      });
    }
    recordSiteRisk(app, registry);
    const stopRuntime = registerRuntimeMetrics(registry);
    app.addHook('onClose', async () => stopRuntime());
    app.decorate('metrics', metrics);
  },
  { name: 'metrics', dependencies: ['models', 'predictions'] },
);

interface RiskAnswer {
  site_id?: unknown;
  risk?: unknown;
  alert_level?: unknown;
  time?: unknown;
}

/**
 * The latest risk of each site, with its coordinates as labels, for the Grafana geomap (Bleach
 * Risk Heat-Map) and the reef alerts: taken from the answers of the predict and risk-map
 * routes. The newest prediction time per site wins, so asking about a past day does not
 * overwrite today's value.
 */
function recordSiteRisk(app: FastifyInstance, registry: Registry) {
  const labelNames = ['site_id', 'site_name', 'lat', 'lon'] as const;
  // The answers are kept per site and handed to the gauges at scrape time: a gauge set (even
  // on a cached child) hashes its four labels, which was a tenth of a prediction's garbage.
  const latest = new Map<string, { timeMs: number; risk: number; level: number | null }>();
  const labelsOf = new Map<string, Record<(typeof labelNames)[number], string>>();
  const labels = (siteId: string) => {
    let found = labelsOf.get(siteId);
    if (!found) {
      const site = app.sites.get(siteId);
      found = {
        site_id: siteId,
        site_name: site.name,
        lat: String(site.lat),
        lon: String(site.lon),
      };
      labelsOf.set(siteId, found);
    }
    return found;
  };
  new Gauge({
    name: 'reefguard_site_risk',
    help: 'Latest predicted bleaching-risk probability per site (0-1), with its coordinates',
    labelNames,
    registers: [registry],
    collect() {
      for (const [siteId, answer] of latest) this.set(labels(siteId), answer.risk);
    },
  });
  new Gauge({
    name: 'reefguard_site_alert_level',
    help: 'CRW alert level of the latest prediction per site (0 no stress .. 4+ bleaching alert)',
    labelNames,
    registers: [registry],
    collect() {
      for (const [siteId, answer] of latest) {
        if (answer.level !== null) this.set(labels(siteId), answer.level);
      }
    },
  });
  const record = (answer: RiskAnswer) => {
    const { site_id: siteId, risk: value, alert_level: level, time } = answer;
    if (typeof siteId !== 'string' || typeof value !== 'number' || typeof time !== 'string') return;
    if (!app.sites.has(siteId)) return;
    const timeMs = Date.parse(time);
    if (Number.isNaN(timeMs)) return;
    const known = latest.get(siteId);
    if (known) {
      if (!(timeMs >= known.timeMs)) return;
      known.timeMs = timeMs;
      known.risk = value;
      // A later answer without a level keeps the level last known.
      if (typeof level === 'number') known.level = level;
      return;
    }
    latest.set(siteId, { timeMs, risk: value, level: typeof level === 'number' ? level : null });
  };
  // A callback hook: an async one would cost every request of the app a promise.
  app.addHook('preSerialization', (request, reply, payload: unknown, done) => {
    if (reply.statusCode !== 200 || typeof payload !== 'object' || payload === null) {
      done(null, payload);
      return;
    }
    const body = payload as {
      predictions?: RiskAnswer[];
      features?: Array<{ properties?: RiskAnswer }>;
    };
    switch (request.routeOptions.url) {
      case '/v1/predict':
        record(body as RiskAnswer);
        break;
      case '/v1/predict/batch':
        for (const answer of body.predictions ?? []) record(answer);
        break;
      case '/v1/risk-map':
        for (const feature of body.features ?? []) record(feature.properties ?? {});
        break;
    }
    done(null, payload);
  });
}
