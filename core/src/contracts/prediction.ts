import { z } from 'zod';
import { isoTime, schemaVersion, siteId } from './common.js';

export const RISK_BANDS = ['low', 'moderate', 'high', 'severe'] as const;
export const VARIANTS = ['champion', 'challenger', 'crw-baseline'] as const;

/** A bleaching-risk answer: the probability, the CRW physics behind it and who answered. */
export const predictionSchema = z.object({
  schema_version: schemaVersion,
  site_id: siteId,
  time: isoTime,
  risk: z.number().min(0).max(1),
  band: z.enum(RISK_BANDS),
  alert_level: z.number().int().min(0).max(7),
  dhw: z.number().min(0),
  model_name: z.string().min(1),
  model_version: z.string().min(1),
  variant: z.enum(VARIANTS),
  degraded: z.boolean().default(false),
  /** Why a degraded answer is degraded (missing chip layers, stale features...); only when degraded. */
  degraded_reason: z.string().min(1).max(500).optional(),
  top_features: z
    .array(z.object({ name: z.string(), value: z.number().nullable(), contribution: z.number() }))
    .max(20),
});

export type Prediction = z.infer<typeof predictionSchema>;
