import { z } from 'zod';
import { isoTime, schemaVersion, siteId } from './common.js';

/**
 * The features of one site as known at `as_of` (event time). Values are keyed by the feature
 * names of the feature catalogue in `core`; a missing value is `null`, never a guess.
 */
export const featureVectorSchema = z.object({
  schema_version: schemaVersion,
  site_id: siteId,
  as_of: isoTime,
  computed_at: isoTime,
  feature_set_version: z.string().min(1),
  values: z.record(z.string(), z.number().finite().nullable()),
});

export type FeatureVector = z.infer<typeof featureVectorSchema>;
