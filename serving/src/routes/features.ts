import type { FastifyPluginAsync } from 'fastify';
import { FeaturesUnavailableError } from '../predictor.js';
import { errorResponses, siteIdSchema } from './schemas.js';

/** The online feature vector of one site, as the model reads it (the map's what-if uses it). */
export const featureRoutes: FastifyPluginAsync = async (app) => {
  app.get<{ Params: { site_id: string } }>(
    '/v1/features/:site_id',
    {
      schema: {
        summary: 'Latest online features of a site',
        params: { type: 'object', required: ['site_id'], properties: { site_id: siteIdSchema } },
        response: {
          200: {
            type: 'object',
            properties: {
              site_id: { type: 'string' },
              as_of: { type: 'string' },
              computed_at: { type: 'string' },
              feature_set_version: { type: 'string' },
              values: { type: 'object', additionalProperties: { type: ['number', 'null'] } },
            },
          },
          ...errorResponses,
        },
      },
    },
    async (request) => {
      const { site_id } = request.params;
      app.sites.get(site_id);
      const [features] = await app.features.read([site_id]);
      if (!features) {
        throw new FeaturesUnavailableError(`no online features for site ${site_id}`, 'missing');
      }
      return features;
    },
  );
};
