import { z } from 'zod';
import { isoTime, schemaVersion, traceId } from './common.js';

/** Requests, errors and median latency of one variant over a canary window. */
const variantStats = z.object({
  requests: z.number().int().nonnegative(),
  errors: z.number().int().nonnegative(),
  error_rate: z.number().min(0).max(1),
  /** null when the variant answered no request. */
  p50_ms: z.number().nonnegative().nullable(),
});

/**
 * One step of a rollout, published by serving after it is written to the audit log:
 * - `rejected`: a gate failed (or the retrain failed); no alias moved;
 * - `challenger`: every gate passed, the `challenger` alias moved, the edge cohort was told;
 * - `canary-open`: serving routes `canary.weight` of sites to the challenger for the window;
 * - `promoted`: the canary was healthy and approved, `champion` moved, all agents were told;
 * - `held`: the canary was healthy but a champion gate (approval) failed; nothing moved;
 * - `rolled-back`: the canary was unhealthy (or an operator rolled back); agents were told.
 */
export const rolloutDecisionSchema = z.object({
  schema_version: schemaVersion,
  id: z.string().min(1),
  trace_id: traceId,
  stage: z.enum(['rejected', 'challenger', 'canary-open', 'promoted', 'held', 'rolled-back']),
  model_name: z.string().min(1),
  version: z.string().min(1).nullable(),
  /** What the alias concerned pointed at before. */
  previous: z.string().min(1).nullable(),
  applied: z.boolean(),
  gates: z.array(z.object({ gate: z.string().min(1), passed: z.boolean(), detail: z.string() })),
  canary: z
    .object({
      weight: z.number().min(0).max(1),
      window_s: z.number().positive().optional(),
      champion: variantStats.optional(),
      challenger: variantStats.optional(),
    })
    .optional(),
  reason: z.string(),
  /** The retrain request the version came from, when a retrain result started the rollout. */
  retrain_request_id: z.string().min(1).optional(),
  actor: z.string().min(1),
  decided_at: isoTime,
});

export type RolloutDecision = z.infer<typeof rolloutDecisionSchema>;
