// The swagger types add summary, security and hide to route schemas.
import type {} from '@fastify/swagger';
import { RISK_BANDS, VARIANTS } from '@reefguard/core';

/** JSON Schemas of the HTTP API (validation, serialisation and the OpenAPI document). */
export const siteIdSchema = {
  type: 'string',
  pattern: '^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$',
  description: 'reef site id, e.g. pixel-8110',
} as const;

export const predictionJsonSchema = {
  type: 'object',
  required: [
    'schema_version',
    'site_id',
    'time',
    'risk',
    'band',
    'alert_level',
    'dhw',
    'model_name',
    'model_version',
    'variant',
    'degraded',
    'top_features',
  ],
  properties: {
    schema_version: { type: 'integer', const: 1 },
    site_id: { type: 'string' },
    time: { type: 'string', description: 'as-of time of the features behind the answer' },
    risk: { type: 'number', minimum: 0, maximum: 1 },
    band: { type: 'string', enum: [...RISK_BANDS] },
    alert_level: { type: 'integer', minimum: 0, maximum: 7, description: 'CRW 0-7' },
    dhw: { type: 'number', description: 'degree heating weeks, degC-weeks' },
    model_name: { type: 'string' },
    model_version: { type: 'string' },
    variant: { type: 'string', enum: [...VARIANTS] },
    degraded: {
      type: 'boolean',
      description:
        'true: the model could not run in full; the answer is the CRW baseline (variant crw-baseline) or the tabular member of a chip model',
    },
    degraded_reason: {
      type: 'string',
      description: 'why the answer is degraded (only when it is)',
    },
    top_features: {
      type: 'array',
      items: {
        type: 'object',
        required: ['name', 'value', 'contribution'],
        properties: {
          name: { type: 'string' },
          value: { type: ['number', 'null'] },
          contribution: { type: 'number', description: 'risk added over the feature at its mean' },
        },
      },
    },
  },
} as const;

export const errorJsonSchema = {
  type: 'object',
  required: ['error', 'message'],
  properties: {
    error: { type: 'string' },
    message: { type: 'string' },
    reason: { type: 'string' },
    site_id: { type: 'string' },
    field: { type: 'string', description: 'the body field a 400 is about, e.g. site_ids/3' },
  },
} as const;

export const errorResponses = {
  400: errorJsonSchema,
  404: errorJsonSchema,
  500: errorJsonSchema,
  503: errorJsonSchema,
} as const;
