import { NotFoundError, ValidationError } from '@reefguard/core';
import type { FastifyPluginAsync } from 'fastify';
import type { PredictStages } from '../plugins/metrics.js';
import { answerSites, type FeatureSource, type PredictSettings } from '../predict-service.js';
import { type AnswerTimings, FeaturesUnavailableError } from '../predictor.js';
import { errorJsonSchema, errorResponses, predictionJsonSchema, siteIdSchema } from './schemas.js';

/** Largest batch one request may ask for; the risk map is the way to ask for every site. */
export const MAX_BATCH = 1_000;

const timeSchema = {
  type: 'string',
  format: 'date-time',
  description:
    'the time the answer is for (default: now); a time before today (UTC) is answered from the offline store with the features known at that time',
} as const;

const DAY_MS = 86_400_000;
/** Clock skew tolerated between a client and this server. */
const FUTURE_SLACK_MS = 60_000;

/**
 * The time asked for and where its features come from: today from the online store, an
 * earlier day from the offline store as known at that very time (what a prediction made then
 * would have seen), the future never.
 */
function requestTime(
  time: string | undefined,
  settings: PredictSettings,
): { timeMs: number; source?: FeatureSource } {
  const nowMs = Date.now();
  if (time === undefined) return { timeMs: nowMs };
  const timeMs = Date.parse(time);
  if (timeMs > nowMs + FUTURE_SLACK_MS) {
    throw new ValidationError(`time ${time} is in the future`, 'time');
  }
  const day = Math.floor(timeMs / DAY_MS);
  const offline = settings.offline;
  if (day >= Math.floor(nowMs / DAY_MS) || !offline) return { timeMs };
  return { timeMs, source: (ids) => offline.readDay(ids, day, timeMs) };
}

declare module 'fastify' {
  interface FastifyRequest {
    /** Stage times of a /v1/predict answer, completed when the response is written. */
    predictStages: PredictStages | null;
  }
}

export const predictRoutes: FastifyPluginAsync<PredictSettings> = async (app, settings) => {
  app.decorateRequest('predictStages', null);
  app.post<{ Body: { site_id: string; time?: string } }>(
    '/v1/predict',
    {
      // A callback hook: an async one would cost every answer a promise.
      onResponse(request, reply, done) {
        const stages = request.predictStages;
        if (stages && reply.statusCode === 200) {
          stages.total = reply.elapsedTime;
          // `respond` held the handler's end until now.
          stages.respond = stages.total - stages.respond;
          app.metrics.recordPredictStages(stages);
        }
        done();
      },
      schema: {
        summary: 'Bleaching risk of one site now (or at `time`)',
        body: {
          type: 'object',
          required: ['site_id'],
          additionalProperties: false,
          properties: { site_id: siteIdSchema, time: timeSchema },
        },
        response: { 200: predictionJsonSchema, ...errorResponses },
      },
    },
    async (request, reply) => {
      const parseMs = reply.elapsedTime;
      const { site_id, time } = request.body;
      app.sites.get(site_id);
      const { timeMs, source } = requestTime(time, settings);
      const timings: AnswerTimings = { featuresMs: 0, modelMs: 0 };
      const [answer] = await answerSites(app, [site_id], timeMs, settings, source, timings);
      if (!answer) throw new Error('no answer');
      if (answer.ok) {
        app.predictions?.publish(answer.prediction);
        const handlerEndMs = reply.elapsedTime;
        request.predictStages = {
          parse: parseMs,
          features: timings.featuresMs,
          model: timings.modelMs,
          answer: handlerEndMs - parseMs - timings.featuresMs - timings.modelMs,
          respond: handlerEndMs,
          total: 0,
        };
        return answer.prediction;
      }
      if (answer.status === 404) throw new NotFoundError(answer.message);
      throw new FeaturesUnavailableError(
        answer.message,
        answer.reason as FeaturesUnavailableError['reason'],
      );
    },
  );

  app.post<{ Body: { site_ids: string[]; time?: string } }>(
    '/v1/predict/batch',
    {
      schema: {
        summary: 'Bleaching risk of many sites; each site answers or says why not',
        body: {
          type: 'object',
          required: ['site_ids'],
          additionalProperties: false,
          properties: {
            site_ids: { type: 'array', items: siteIdSchema, minItems: 1, maxItems: MAX_BATCH },
            time: timeSchema,
          },
        },
        response: {
          200: {
            type: 'object',
            required: ['predictions', 'errors'],
            properties: {
              predictions: { type: 'array', items: predictionJsonSchema },
              errors: {
                type: 'array',
                items: {
                  ...errorJsonSchema,
                  required: ['site_id', 'status', 'error', 'message'],
                  properties: { ...errorJsonSchema.properties, status: { type: 'integer' } },
                },
              },
            },
          },
          ...errorResponses,
        },
      },
    },
    async (request) => {
      const { site_ids, time } = request.body;
      const { timeMs, source } = requestTime(time, settings);
      const answers = await answerSites(app, site_ids, timeMs, settings, source);
      for (const answer of answers) if (answer.ok) app.predictions?.publish(answer.prediction);
      return {
        predictions: answers.flatMap((a) => (a.ok ? [a.prediction] : [])),
        errors: answers.flatMap((a) => (a.ok ? [] : [a])),
      };
    },
  );
};
