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
