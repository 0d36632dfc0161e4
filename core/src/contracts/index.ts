import type { z } from 'zod';
import { driftEventSchema } from './drift.js';
import { featureVectorSchema } from './features.js';
import { modelAnnouncementSchema } from './model-announcement.js';
import { modelCardSchema } from './model-card.js';
import { predictionSchema } from './prediction.js';
import { buoyReadingSchema } from './reading.js';
import { retrainRequestSchema, retrainResultSchema } from './retrain.js';
import { rolloutDecisionSchema } from './rollout-decision.js';
import { satelliteObservationSchema } from './satellite.js';
import { trainingSetManifestSchema } from './training-set.js';

export * from './common.js';
export * from './drift.js';
export * from './features.js';
export * from './model-announcement.js';
export * from './model-card.js';
export * from './prediction.js';
export * from './reading.js';
export * from './retrain.js';
export * from './rollout-decision.js';
export * from './satellite.js';
export * from './training-set.js';

/** Every contract by its published name; the JSON Schema files are named after these keys. */
export const CONTRACTS = {
  'buoy-reading': buoyReadingSchema,
  'satellite-observation': satelliteObservationSchema,
  'feature-vector': featureVectorSchema,
  prediction: predictionSchema,
  'drift-event': driftEventSchema,
  'retrain-request': retrainRequestSchema,
  'retrain-result': retrainResultSchema,
  'rollout-decision': rolloutDecisionSchema,
  'model-announcement': modelAnnouncementSchema,
  'model-card': modelCardSchema,
  'training-set-manifest': trainingSetManifestSchema,
} as const satisfies Record<string, z.ZodType>;

export type ContractName = keyof typeof CONTRACTS;
