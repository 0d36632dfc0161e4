import { createReadStream } from 'node:fs';
import { join } from 'node:path';
import { NotFoundError } from '@reefguard/core';
import type { FastifyPluginAsync } from 'fastify';
import { errorResponses } from './schemas.js';

/** Files of the loaded models, for edge agents (announcement URLs) and the map page. */
export const modelRoutes: FastifyPluginAsync = async (app) => {
  app.get(
    '/v1/models',
    {
      schema: {
        summary: 'The loaded champion and challenger',
        response: {
          200: {
            type: 'object',
            properties: {
              champion: { type: ['object', 'null'], additionalProperties: true },
              challenger: { type: ['object', 'null'], additionalProperties: true },
              challenger_weight: { type: 'number' },
            },
          },
        },
      },
    },
    async () => {
      const set = app.models.hub.current();
      const describe = (alias: 'champion' | 'challenger') => {
        const model = set?.[alias];
        if (!model) return null;
        return {
          version: model.version,
          sha256: model.sha256,
          url: `/v1/models/${model.version}/${model.card.files.model.path}`,
          card_url: `/v1/models/${model.version}/model-card.json`,
          features: model.card.features.map((f) => f.name),
        };
      };
      return {
        champion: describe('champion'),
        challenger: describe('challenger'),
        challenger_weight: set?.challenger ? set.challengerWeight : 0,
      };
    },
  );

  app.get<{ Params: { version: string; file: string } }>(
    '/v1/models/:version/:file',
    {
      schema: {
        description: 'Download the ONNX file or the model card of a registered version',
        params: {
          type: 'object',
          required: ['version', 'file'],
          properties: { version: { type: 'string' }, file: { type: 'string' } },
        },
        response: errorResponses,
      },
    },
    async (request, reply) => {
      const { version, file } = request.params;
      // Any registered version, not only loaded ones: an edge agent may ask as soon as a
      // promotion is announced, before this instance reloads.
      if (!/^[A-Za-z0-9._-]+$/.test(version))
        throw new NotFoundError(`no model version "${version}"`);
      const dir = await app.registry.fetch(version);
      const card = await app.registry.readCard(version);
      // Only files the card names can be served: no path ever comes from the request.
      const names = ['model-card.json', ...Object.values(card.files).map((f) => f.path)];
      if (!names.includes(file)) {
        throw new NotFoundError(`model version ${version} has no file "${file}"`);
      }
      const type = file.endsWith('.json') ? 'application/json' : 'application/octet-stream';
      return reply.type(type).send(createReadStream(join(dir, file)));
    },
  );
};
