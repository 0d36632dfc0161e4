import { ValidationError } from '@reefguard/core';
import type { FastifyPluginAsync } from 'fastify';
import { answerSites, type PredictSettings } from '../predict-service.js';
import { FeaturesUnavailableError } from '../predictor.js';
import { errorResponses } from './schemas.js';

const DAY_MS = 86_400_000;

const siteProperties = {
  type: 'object',
  properties: {
    site_id: { type: 'string' },
    name: { type: 'string' },
    risk: { type: ['number', 'null'] },
    band: { type: ['string', 'null'] },
    alert_level: { type: ['integer', 'null'] },
    dhw: { type: ['number', 'null'] },
    time: { type: ['string', 'null'] },
    model_version: { type: ['string', 'null'] },
    variant: { type: ['string', 'null'] },
    degraded: { type: 'boolean' },
    degraded_reason: { type: 'string' },
    status: { type: 'string', enum: ['ok', 'unavailable'] },
    reason: { type: 'string' },
  },
} as const;

/**
 * The day asked for: today (or no date) is answered from the online store now; an earlier
 * day from the offline store as known at that day's end; a later day is an error.
 */
function dayOf(
  date: string | undefined,
  nowMs: number,
): { day: number; timeMs: number; past: boolean } {
  const today = Math.floor(nowMs / DAY_MS);
  if (date === undefined) return { day: today, timeMs: nowMs, past: false };
  const start = Date.parse(`${date}T00:00:00Z`);
  if (Number.isNaN(start)) throw new ValidationError(`date "${date}" is not a day`, 'date');
  const day = Math.floor(start / DAY_MS);
  if (day > today) {
    throw new ValidationError(
      `date ${date} is in the future (today is ${new Date(nowMs).toISOString().slice(0, 10)} UTC)`,
      'date',
    );
  }
  if (day === today) return { day, timeMs: nowMs, past: false };
  return { day, timeMs: start + DAY_MS - 1, past: true };
}

export const riskMapRoutes: FastifyPluginAsync<PredictSettings> = async (app, settings) => {
  app.get<{ Querystring: { date?: string; with_data?: boolean } }>(
    '/v1/risk-map',
    {
      schema: {
        summary: 'Risk of every site as GeoJSON points (for the map page)',
        querystring: {
          type: 'object',
          additionalProperties: false,
          properties: {
            date: {
              type: 'string',
              format: 'date',
              description:
                'UTC day (default: today); a past day is answered from the offline store as known at the end of that day',
            },
            with_data: { type: 'boolean', description: 'only sites that have an answer' },
          },
        },
        response: {
          200: {
            type: 'object',
            properties: {
              type: { type: 'string', const: 'FeatureCollection' },
              date: { type: 'string' },
              source: {
                type: 'string',
                enum: ['online', 'offline'],
                description:
                  'online: today from the online store; offline: a past day as known at its end',
              },
              features: {
                type: 'array',
                items: {
                  type: 'object',
                  properties: {
                    type: { type: 'string' },
                    geometry: {
                      type: 'object',
                      properties: {
                        type: { type: 'string' },
                        coordinates: { type: 'array', items: { type: 'number' } },
                      },
                    },
                    properties: siteProperties,
                  },
                },
              },
            },
          },
          ...errorResponses,
        },
      },
    },
    async (request) => {
      const { day, timeMs, past } = dayOf(request.query.date, Date.now());
      const sites = app.sites.sites;
      const offline = settings.offline;
      if (past && !offline) {
        throw new FeaturesUnavailableError(
          'past days come from the offline store, and this server has none configured',
          'missing',
        );
      }
      const answers = await answerSites(
        app,
        sites.map((s) => s.site_id),
        timeMs,
        settings,
        past && offline ? (ids) => offline.readDay(ids, day, timeMs) : undefined,
      );
      const features = sites.flatMap((site, i) => {
        const answer = answers[i];
        if (!answer || (!answer.ok && request.query.with_data)) return [];
        const properties = answer.ok
          ? {
              site_id: site.site_id,
              name: site.name,
              risk: answer.prediction.risk,
              band: answer.prediction.band,
              alert_level: answer.prediction.alert_level,
              dhw: answer.prediction.dhw,
              time: answer.prediction.time,
              model_version: answer.prediction.model_version,
              variant: answer.prediction.variant,
              degraded: answer.prediction.degraded,
              degraded_reason: answer.prediction.degraded_reason,
              status: 'ok',
            }
          : {
              site_id: site.site_id,
              name: site.name,
              risk: null,
              band: null,
              alert_level: null,
              dhw: null,
              time: null,
              model_version: null,
              variant: null,
              degraded: false,
              status: 'unavailable',
              reason: answer.reason ?? answer.error,
            };
        return [
          {
            type: 'Feature',
            geometry: { type: 'Point', coordinates: [site.lon, site.lat] },
            properties,
          },
        ];
      });
      return {
        type: 'FeatureCollection',
        date: new Date(timeMs).toISOString().slice(0, 10),
        source: past ? 'offline' : 'online',
        features,
      };
    },
  );
};
