import { z } from 'zod';
import { isoTime, schemaVersion, traceId } from './common.js';

/** Asks the trainer for a new model; `id` de-duplicates repeated requests for one drift episode. */
export const retrainRequestSchema = z.object({
  schema_version: schemaVersion,
  id: z.string().min(1),
  trace_id: traceId,
  reason: z.enum(['drift', 'schedule', 'manual']),
  features: z.array(z.string()).default([]),
  requested_at: isoTime,
  requested_by: z.string().min(1),
});

export type RetrainRequest = z.infer<typeof retrainRequestSchema>;

/** Skill at the card's threshold, as the promotion gates read it (null: undefined there). */
const skill = z.object({
  f1: z.number().min(0).max(1).nullable(),
  auroc: z.number().min(0).max(1).nullable(),
  pr_auc: z.number().min(0).max(1).nullable(),
  brier: z.number().min(0).max(1).nullable(),
});

/**
 * What the retrain worker did with one request: the registered model version and the numbers
 * the promotion gates will judge, or why it failed. `request_id` de-duplicates redeliveries.
 */
export const retrainResultSchema = z
  .object({
    schema_version: schemaVersion,
    id: z.string().min(1),
    request_id: z.string().min(1),
    trace_id: traceId,
    status: z.enum(['succeeded', 'failed']),
    /** Why it failed, in words an operator can act on; absent when it succeeded. */
    reason: z.string().min(1).optional(),
    model_name: z.string().min(1),
    /** The registry's version (MLflow when configured, else the local store's). */
    model_version: z.string().min(1).nullable(),
    local_version: z.string().min(1).nullable().optional(),
    mlflow_run_id: z.string().min(1).nullable().optional(),
    data_version: z.string().min(1).nullable(),
    threshold: z.number().min(0).max(1).nullable(),
    /** Overall skill on the held-out events: model next to the NOAA CRW alert baseline. */
    metrics: z.object({ model: skill, crw_baseline: skill }).nullable(),
    /** F1 per held-out event, model vs CRW: what the beats-CRW gate compares. */
    held_out_events: z.array(
      z.object({
        event: z.string().min(1),
        model_f1: z.number().min(0).max(1).nullable(),
        crw_baseline_f1: z.number().min(0).max(1).nullable(),
      }),
    ),
    training_seconds: z.number().nonnegative().nullable(),
    started_at: isoTime,
    finished_at: isoTime,
  })
  .refine((r) => r.status === 'succeeded' || r.reason !== undefined, {
    message: 'a failed result needs a reason',
    path: ['reason'],
  })
  .refine((r) => r.status === 'failed' || r.model_version !== null, {
    message: 'a succeeded result names the registered model version',
    path: ['model_version'],
  });

export type RetrainResult = z.infer<typeof retrainResultSchema>;
