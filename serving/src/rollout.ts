import type { NatsConnection } from '@nats-io/transport-node';
import { loadConfig, type RetrainResult } from '@reefguard/core';
import { z } from 'zod';
import type { Decision } from './audit-log.js';
import type { CanaryMonitor } from './canary.js';
import { servingSettings } from './config.js';
import { type PromotionDeps, promote, recordCanaryOpen, recordFailedRetrain } from './promotion.js';
import {
  createRetrainResultsSource,
  DEFAULT_ROLLOUT_DURABLE,
  type ResultDelivery,
} from './retrain-results.js';

/** Settings of `./reefguard rollout`: serving's, plus the consumer it binds to. */
export const rolloutSettings = {
  ...servingSettings,
  ROLLOUT_DURABLE: z.string().min(1).default(DEFAULT_ROLLOUT_DURABLE),
};

export type RolloutConfig = z.infer<z.ZodObject<typeof rolloutSettings>>;

export function loadRolloutConfig(env: Record<string, string | undefined>): RolloutConfig {
  return loadConfig(rolloutSettings, env);
}

/** The part of serving's model service a rollout drives (`app.models`). */
export interface RolloutModels {
  reload(): Promise<unknown>;
  readonly canary: CanaryMonitor;
}

interface Log {
  info(object: object, message: string): void;
  warn(object: object, message: string): void;
  error(object: object, message: string): void;
}

export interface RolloutControllerOptions {
  nc: NatsConnection;
  promotion: PromotionDeps;
  models: RolloutModels;
  logger: Log;
  durable?: string;
  /** A failed attempt (registry or broker down) is retried after this long. */
  retryDelayMs?: number;
}

export interface RolloutController {
  /** Results handled so far (decided, or skipped as already decided). */
  readonly handled: number;
  close(): Promise<void>;
}

/**
 * What serving does with one retrain result; returns the decision it recorded, or null when
 * the result's request was decided before (a redelivery). Failed retrains and failed gates
 * are recorded and move nothing; a version that passes goes to `challenger` (announced to the
 * edge canary cohort), is loaded, and its canary window opens. The window's end (promotion or
 * rollback) is decided by serving's canary monitor.
 */
export async function decideRetrainResult(
  deps: PromotionDeps,
  models: RolloutModels,
  result: RetrainResult,
): Promise<Decision | null> {
  const seen = (await deps.audit.read()).some((d) => d.retrain_request_id === result.request_id);
  if (seen) return null;
  if (result.status === 'failed' || result.model_version === null) {
    return recordFailedRetrain(deps, result);
  }
  const decision = await promote(deps, {
    to: 'challenger',
    version: result.model_version,
    traceId: result.trace_id,
    retrainRequestId: result.request_id,
  });
  if (!decision.applied) return decision;
  await models.reload();
  if (models.canary.version === result.model_version) {
    await recordCanaryOpen(deps, result.model_version);
  }
  return decision;
}

/**
 * Consumes retrain results (JetStream durable consumer) and decides each one, acknowledging
 * it only after its decision is in the audit log. Run by one serving instance
 * (`./reefguard rollout`); other replicas follow the registry aliases by polling.
 */
export async function startRolloutController(
  options: RolloutControllerOptions,
): Promise<RolloutController> {
  const { logger } = options;
  const retryDelayMs = options.retryDelayMs ?? 10_000;
  const source = await createRetrainResultsSource({
    nc: options.nc,
    durable: options.durable,
  });
  let handled = 0;

  async function handle(delivery: ResultDelivery) {
    const { result } = delivery;
    if ('invalid' in result) {
      logger.error({ reason: result.invalid }, 'retrain result breaks its contract: dropped');
      delivery.term();
      return;
    }
    try {
      const decision = await decideRetrainResult(options.promotion, options.models, result);
      delivery.ack();
      handled += 1;
      logger.info(
        {
          trace_id: result.trace_id,
          request_id: result.request_id,
          version: result.model_version,
          decision: decision?.reason ?? 'already decided (redelivery)',
        },
        'retrain result decided',
      );
    } catch (error) {
      // Not acknowledged: JetStream delivers it again after the delay.
      logger.warn(
        { err: error, trace_id: result.trace_id, retry_in_ms: retryDelayMs },
        'retrain result not decided',
      );
      delivery.nak(retryDelayMs);
    }
  }

  const pump = (async () => {
    for await (const delivery of source.deliveries()) await handle(delivery);
  })().catch((error: unknown) => logger.error({ err: error }, 'rollout controller stopped'));

  logger.info(
    { durable: options.durable ?? DEFAULT_ROLLOUT_DURABLE },
    'rollout controller waiting for retrain results',
  );
  return {
    get handled() {
      return handled;
    },
    async close() {
      await source.close();
      await pump;
    },
  };
}
