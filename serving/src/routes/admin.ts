import { createHash, timingSafeEqual } from 'node:crypto';
import type { Secret } from '@reefguard/core';
import type { FastifyPluginAsync } from 'fastify';
import { promote, rollback } from '../promotion.js';
import { errorResponses } from './schemas.js';

export interface AdminOptions {
  token?: Secret;
}

const digest = (value: string) => createHash('sha256').update(value).digest();

const decisionSchema = {
  type: 'object',
  additionalProperties: true,
  properties: {
    action: { type: 'string' },
    target: { type: 'string' },
    version: { type: ['string', 'null'] },
    previous: { type: ['string', 'null'] },
    applied: { type: 'boolean' },
    dry_run: { type: 'boolean' },
    reason: { type: 'string' },
    gates: {
      type: 'array',
      items: {
        type: 'object',
        properties: {
          gate: { type: 'string' },
          passed: { type: 'boolean' },
          detail: { type: 'string' },
        },
      },
    },
  },
} as const;

const modelsSchema = {
  type: 'object',
  properties: {
    champion: { type: ['string', 'null'] },
    challenger: { type: ['string', 'null'] },
    challenger_weight: { type: 'number' },
  },
} as const;

/**
 * Reload, canary weight, promote and rollback, behind `Authorization: Bearer <token>`.
 * Without a configured token the routes refuse everyone.
 */
export const adminRoutes: FastifyPluginAsync<AdminOptions> = async (app, options) => {
  const expected = options.token ? digest(options.token.reveal()) : null;
  const security = [{ bearer: [] }];

  app.addHook('onRequest', async (request, reply) => {
    if (!expected) {
      return reply.code(503).send({
        error: 'AdminDisabled',
        message: 'admin routes are off: set REEFGUARD_ADMIN_TOKEN',
      });
    }
    const header = request.headers.authorization ?? '';
    const given = header.startsWith('Bearer ') ? header.slice(7) : '';
    // Comparing digests keeps the comparison constant-time whatever the length given.
    if (!timingSafeEqual(digest(given), expected)) {
      return reply
        .code(401)
        .header('www-authenticate', 'Bearer')
        .send({ error: 'Unauthorized', message: 'a valid admin bearer token is required' });
    }
  });

  const current = () => {
    const set = app.models.hub.current();
    return {
      champion: set?.champion.version ?? null,
      challenger: set?.challenger?.version ?? null,
      challenger_weight: set?.challenger ? set.challengerWeight : 0,
    };
  };

  app.post(
    '/admin/reload',
    {
      schema: {
        summary: 'Reload the models the registry aliases point at',
        security,
        response: { 200: modelsSchema, ...errorResponses },
      },
    },
    async () => {
      await app.models.reload();
      return current();
    },
  );

  app.put<{ Body: { weight: number } }>(
    '/admin/canary',
    {
      schema: {
        description: 'Set the share of sites routed to the challenger',
        security,
        body: {
          type: 'object',
          required: ['weight'],
          additionalProperties: false,
          properties: { weight: { type: 'number', minimum: 0, maximum: 1 } },
        },
        response: { 200: modelsSchema, ...errorResponses },
      },
    },
    async (request) => {
      app.models.setWeight(request.body.weight);
      return current();
    },
  );

  app.post<{ Body: { to?: 'challenger' | 'champion'; version?: string; dry_run?: boolean } }>(
    '/admin/promote',
    {
      schema: {
        summary: 'Evaluate the promotion policy and move the alias when every gate passes',
        security,
        body: {
          type: 'object',
          additionalProperties: false,
          properties: {
            to: { type: 'string', enum: ['challenger', 'champion'], default: 'challenger' },
            version: { type: 'string', pattern: '^[0-9]+$' },
            dry_run: { type: 'boolean', default: false },
          },
        },
        response: { 200: decisionSchema, 409: decisionSchema, ...errorResponses },
      },
    },
    async (request, reply) => {
      const { to = 'challenger', version, dry_run = false } = request.body ?? {};
      const decision = await promote(app.promotion, { to, version, dryRun: dry_run });
      if (decision.applied) await app.models.reload();
      const passed = decision.gates.length > 0 && decision.gates.every((g) => g.passed);
      return reply.code(passed ? 200 : 409).send(decision);
    },
  );

  app.post(
    '/admin/rollback',
    {
      schema: {
        summary: 'End the canary, or put the champion back on its previous version',
        security,
        response: { 200: decisionSchema, ...errorResponses },
      },
    },
    async () => {
      const decision = await rollback(app.promotion, {
        reason: 'requested through /admin/rollback',
      });
      if (decision.applied) await app.models.reload();
      return decision;
    },
  );
};
