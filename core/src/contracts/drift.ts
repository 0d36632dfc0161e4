import { z } from 'zod';
import { isoTime, schemaVersion, traceId } from './common.js';

/** Population Stability Index of one feature over a live window against the card's bins. */
export const driftEventSchema = z.object({
  schema_version: schemaVersion,
  id: z.string().min(1),
  trace_id: traceId,
  feature: z.string().min(1),
  psi: z.number().min(0),
  threshold: z.number().positive(),
  drifted: z.boolean(),
  window_start: isoTime,
  window_end: isoTime,
  window_count: z.number().int().nonnegative(),
  model_version: z.string().min(1),
});

export type DriftEvent = z.infer<typeof driftEventSchema>;
