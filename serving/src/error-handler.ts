import {
  ConfigError,
  InputFormatError,
  ModelError,
  NotFoundError,
  TransportError,
  ValidationError,
} from '@reefguard/core';
import type { FastifyError, FastifyInstance } from 'fastify';
import { FeaturesUnavailableError } from './predictor.js';

/** HTTP status of each named error; anything else is a 500 whose details stay in the log. */
function statusOf(error: unknown): number {
  if (error instanceof NotFoundError) return 404;
  if (error instanceof ValidationError || error instanceof InputFormatError) return 400;
  if (error instanceof FeaturesUnavailableError) return 503;
  if (error instanceof TransportError || error instanceof ModelError) return 503;
  if (error instanceof ConfigError) return 500;
  return 500;
}

/**
 * The body field a validation error is about, as a path: `site_id`, `site_ids/3`, or the name
 * of a missing or unknown property.
 */
function validationField(
  first: { instancePath?: string; params?: Record<string, unknown> } | undefined,
): string | undefined {
  if (!first) return undefined;
  const named = first.params?.missingProperty ?? first.params?.additionalProperty;
  const parts = [first.instancePath?.replace(/^\//, ''), typeof named === 'string' ? named : ''];
  return parts.filter(Boolean).join('/') || undefined;
}

/** The one place where errors become HTTP answers: `{error, message, reason?}`. */
export function registerErrorHandler(app: FastifyInstance): void {
  app.setErrorHandler((error: FastifyError, request, reply) => {
    if (error.validation) {
      // Fastify's message names most fields ("body/time must match format"), but not an
      // unknown one ("body must NOT have additional properties"): the field is added to both.
      const field = validationField(error.validation[0]);
      const unknown = error.validation[0]?.keyword === 'additionalProperties';
      return reply.code(400).send({
        error: 'ValidationError',
        message: unknown && field ? `${error.message}: "${field}"` : error.message,
        ...(field ? { field } : {}),
      });
    }
    if (error.statusCode && error.statusCode >= 400 && error.statusCode < 500) {
      return reply.code(error.statusCode).send({ error: error.name, message: error.message });
    }
    const status = statusOf(error);
    if (status >= 500) request.log.error({ err: error }, 'request failed');
    const reason =
      error instanceof FeaturesUnavailableError || error instanceof ValidationError
        ? { reason: error.reason }
        : {};
    const message = status === 500 ? 'internal error; see the server log' : error.message;
    return reply.code(status).send({ error: error.name, message, ...reason });
  });
}
