import swagger from '@fastify/swagger';
import type { Secret } from '@reefguard/core';
import Fastify, { type FastifyInstance, type FastifyServerOptions, LogController } from 'fastify';
import type { Redis } from 'ioredis';
import { registerErrorHandler } from './error-handler.js';
import features from './plugins/features.js';
import metrics from './plugins/metrics.js';
import models from './plugins/models.js';
import predictions from './plugins/predictions.js';
import registry from './plugins/registry.js';
import type { PredictSettings } from './predict-service.js';
import type { PredictionPublisher } from './prediction-publisher.js';
import type { PromotionDeps } from './promotion.js';
import { adminRoutes } from './routes/admin.js';
import { featureRoutes } from './routes/features.js';
import { healthRoutes } from './routes/health.js';
import { modelRoutes } from './routes/models.js';
import { pageRoutes } from './routes/page.js';
import { predictRoutes } from './routes/predict.js';
import { riskMapRoutes } from './routes/risk-map.js';
import type { SiteCatalog } from './sites.js';

/** Everything the app uses, built and closed by its owner (server.ts or a test). */
export interface AppDeps {
  redis: Redis;
  sites: SiteCatalog;
  promotion: PromotionDeps;
  predict: PredictSettings;
  canaryWindowMs: number;
  /** Poll the registry aliases this often (ms); 0 or unset: only reload on request. */
  registryPollMs?: number;
  adminToken?: Secret;
  /** Publishes every answer of the predict routes on NATS; none when null or unset. */
  predictions?: PredictionPublisher | null;
  logger?: FastifyServerOptions['logger'];
}

/** The whole serving app as one Fastify instance; `server.ts` only listens with it. */
export async function buildApp(deps: AppDeps): Promise<FastifyInstance> {
  const app = Fastify({
    logger: deps.logger ?? false,
    // Two log lines per request cost a third of a prediction's CPU at `info`: requests are
    // logged only at `debug` (below), failures once by the error handler.
    logController: new LogController({ disableRequestLogging: true }),
    ajv: { customOptions: { coerceTypes: 'array', removeAdditional: false } },
  });
  registerErrorHandler(app);
  if (app.log.level === 'debug' || app.log.level === 'trace') {
    app.addHook('onResponse', async (request, reply) => {
      // Only method, route and status: headers (Authorization) never reach the log.
      request.log.debug(
        {
          method: request.method,
          url: request.routeOptions.url,
          status: reply.statusCode,
          ms: reply.elapsedTime,
        },
        'request completed',
      );
    });
  }
  await app.register(swagger, {
    openapi: {
      info: { title: 'ReefGuard serving', version: '1.0.0' },
      components: { securitySchemes: { bearer: { type: 'http', scheme: 'bearer' } } },
    },
  });

  // Shared services, in data-flow order: features -> registry -> models -> predictions -> metrics.
  await app.register(features, { redis: deps.redis, sites: deps.sites });
  await app.register(registry, { promotion: deps.promotion });
  await app.register(models, {
    canaryWeight: deps.promotion.canaryWeight,
    canaryWindowMs: deps.canaryWindowMs,
    registryPollMs: deps.registryPollMs,
  });
  await app.register(predictions, { publisher: deps.predictions ?? null });
  await app.register(metrics);

  await app.register(predictRoutes, deps.predict);
  await app.register(riskMapRoutes, deps.predict);
  await app.register(featureRoutes);
  await app.register(modelRoutes);
  await app.register(healthRoutes);
  await app.register(adminRoutes, { token: deps.adminToken });
  await app.register(pageRoutes);
  app.get('/openapi.json', { schema: { hide: true } }, async () => app.swagger());
  return app;
}
