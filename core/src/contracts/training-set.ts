import { z } from 'zod';
import { isoTime, schemaVersion, sha256Hex } from './common.js';

/**
 * The handshake between the backfill (`./reefguard features export`) and the trainer: a
 * directory holding
 * - `training-set.parquet`: one row per observation, columns `row_id` (int), `site_id`,
 *   `event` (held-out group, e.g. `gbr-1998`, `gcbd-2005`), `source` (`gbr-aerial` | `gcbd`),
 *   `as_of` (date the features are known at), `lat`, `lon`, `label` (0/1: moderate-or-worse
 *   bleaching), `severity` (the observation as published: GBR category 0-4 or percent
 *   bleached) and one float64 column per catalogue feature (null when unknown);
 * - `chips.arrow`: Arrow IPC file, columns `row_id` and `chip` (float32, channels x size x
 *   size, row-major), the ViT input built by core's chip code;
 * - `manifest.json`: this schema.
 * `data_version` is the sha256 of the two data files' contents: same inputs, same version.
 */
export const TRAINING_SET_FILES = {
  table: 'training-set.parquet',
  chips: 'chips.arrow',
  manifest: 'manifest.json',
} as const;

export const trainingSetManifestSchema = z.object({
  schema_version: schemaVersion,
  data_version: sha256Hex,
  feature_set_version: z.string().min(1),
  created_at: isoTime,
  rows: z.number().int().nonnegative(),
  positives: z.number().int().nonnegative(),
  events: z.array(
    z.object({ event: z.string(), rows: z.number().int(), positives: z.number().int() }),
  ),
  features: z.array(z.string()).min(1),
  label: z.string().min(1),
  chip: z.object({
    channels: z.array(z.string()).min(1),
    size_px: z.number().int().positive(),
    pixel_deg: z.number().positive(),
  }),
  sources: z.array(z.object({ path: z.string(), sha256: sha256Hex, format: z.string() })),
  notes: z.array(z.string()).default([]),
});

export type TrainingSetManifest = z.infer<typeof trainingSetManifestSchema>;
