import { z } from 'zod';
import { isoTime, schemaVersion, sha256Hex } from './common.js';

const metricSet = z.object({
  n: z.number().int().nonnegative(),
  positives: z.number().int().nonnegative(),
  auroc: z.number().min(0).max(1).nullable(),
  pr_auc: z.number().min(0).max(1).nullable(),
  f1: z.number().min(0).max(1).nullable(),
  brier: z.number().min(0).max(1).nullable(),
  peirce: z.number().min(-1).max(1).nullable(),
});

/** Skill of the model and its baselines on one held-out event (whole bleaching year). */
const heldOutEvent = z.object({
  event: z.string().min(1),
  model: metricSet,
  crw_baseline: metricSet,
  dhw_logistic: metricSet.optional(),
});

/** PSI reference: bin edges (ascending, length k+1) and the training share in each bin. */
const psiReference = z
  .object({ edges: z.array(z.number()).min(2), shares: z.array(z.number().min(0).max(1)) })
  .refine((ref) => ref.shares.length === ref.edges.length - 1, 'shares need one per bin');

const feature = z.object({
  name: z.string().min(1),
  unit: z.string(),
  mean: z.number(),
  std: z.number().nonnegative(),
  monotone: z.union([z.literal(-1), z.literal(0), z.literal(1)]).default(0),
  psi_reference: psiReference,
});

const onnxFile = z.object({
  path: z.string().min(1),
  sha256: sha256Hex,
  input: z.string().min(1),
  output: z.string().min(1),
});

/**
 * The handshake between trainer and TypeScript: what the ONNX graph expects and how good it is.
 * `features` is in input order; `chip` describes the ViT input when the ensemble uses one.
 */
export const modelCardSchema = z.object({
  schema_version: schemaVersion,
  name: z.string().min(1),
  version: z.string().min(1),
  created_at: isoTime,
  code_version: z.string().min(1),
  data_version: z.string().min(1),
  label: z.string().min(1),
  features: z.array(feature).min(1),
  chip: z
    .object({
      channels: z.array(z.string()).min(1),
      size_px: z.number().int().positive(),
      pixel_deg: z.number().positive(),
      normalisation: z.array(z.object({ mean: z.number(), std: z.number().positive() })),
    })
    .optional(),
  threshold: z.number().min(0).max(1),
  ensemble: z.object({
    members: z.array(z.string()).min(1),
    weights: z.array(z.number()),
    calibration: z.string(),
  }),
  files: z.object({ model: onnxFile }).catchall(onnxFile),
  metrics: z.object({
    validation: z.string().min(1),
    overall: z.object({ model: metricSet, crw_baseline: metricSet }),
    held_out_events: z.array(heldOutEvent),
  }),
  training_seconds: z.number().nonnegative(),
});

export type ModelCard = z.infer<typeof modelCardSchema>;
