import type { FastifyPluginAsync } from 'fastify';

const statusSchema = {
  type: 'object',
  properties: {
    status: { type: 'string' },
    redis: { type: 'boolean' },
    champion: { type: ['string', 'null'] },
    challenger: { type: ['string', 'null'] },
    challenger_weight: { type: 'number' },
    reason: { type: 'string' },
  },
} as const;

export const healthRoutes: FastifyPluginAsync = async (app) => {
  app.get(
    '/healthz',
    { schema: { summary: 'The process answers', response: { 200: statusSchema } } },
    async () => ({
      status: 'ok',
    }),
  );

  app.get(
    '/readyz',
    {
      schema: {
        summary: 'Ready when the champion is loaded and Redis answers',
        response: { 200: statusSchema, 503: statusSchema },
      },
    },
    async (_request, reply) => {
      const redis = await app.features.ping();
      const set = app.models.hub.current();
      const modelsReason = app.models.notReadyReason();
      const ready = redis && modelsReason === null;
      const reasons = [!redis && 'Redis does not answer', modelsReason].filter(Boolean);
      return reply.code(ready ? 200 : 503).send({
        status: ready ? 'ready' : 'not ready',
        redis,
        champion: set?.champion.version ?? null,
        challenger: set?.challenger?.version ?? null,
        challenger_weight: set?.challenger ? set.challengerWeight : 0,
        ...(ready ? {} : { reason: reasons.join('; ') }),
      });
    },
  );

  app.get('/metrics', { schema: { hide: true } }, async (_request, reply) => {
    const body = await app.metrics.registry.metrics();
    return reply.type(app.metrics.registry.contentType).send(body);
  });
};
