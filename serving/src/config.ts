import { commonSettings, loadConfig, secret } from '@reefguard/core';
import { z } from 'zod';
import { DEFAULT_MAX_BUFFERED } from './prediction-publisher.js';

/** The registered model serving answers with, as the trainer registers it. */
export const DEFAULT_MODEL_NAME = 'reefguard-bleaching-risk';
export const DEFAULT_PORT = 8080;
/** The seed's canary split: 90 % champion, 10 % challenger. */
export const DEFAULT_CANARY_WEIGHT = 0.1;
/** The seed's canary window before automatic promotion or rollback. */
export const DEFAULT_CANARY_WINDOW_S = 30 * 60;
/** Daily features are recomputed once a day; older than this they no longer describe "now". */
export const DEFAULT_FEATURE_MAX_AGE_H = 36;
export const DEFAULT_REGISTRY_POLL_S = 15;
export const DEFAULT_POLICY_FILE = 'models/promotion-policy.json';

export const servingSettings = {
  ...commonSettings,
  HOST: z.string().min(1).default('127.0.0.1'),
  PORT: z.coerce.number().int().min(0).max(65535).default(DEFAULT_PORT),
  /** Base URL edge agents and the browser reach this server at (model downloads). */
  PUBLIC_URL: z.url().optional(),
  ADMIN_TOKEN: secret().optional(),
  MODEL_NAME: z.string().min(1).default(DEFAULT_MODEL_NAME),
  /** MLflow tracking server; without it models come from the local store under STATE_DIR. */
  MLFLOW_TRACKING_URI: z.url().optional(),
  MLFLOW_TRACKING_TOKEN: secret().optional(),
  CANARY_WEIGHT: z.coerce.number().min(0).max(1).default(DEFAULT_CANARY_WEIGHT),
  CANARY_WINDOW_S: z.coerce.number().positive().default(DEFAULT_CANARY_WINDOW_S),
  FEATURE_MAX_AGE_H: z.coerce.number().positive().default(DEFAULT_FEATURE_MAX_AGE_H),
  /** Seconds between checks for alias moves made by `./reefguard promote` elsewhere. */
  REGISTRY_POLL_S: z.coerce.number().min(0).default(DEFAULT_REGISTRY_POLL_S),
  /** What to answer when model features are missing: a flagged CRW answer or 503. */
  DEGRADED: z.enum(['crw-baseline', 'unavailable']).default('crw-baseline'),
  SITES_FILE: z.string().min(1).optional(),
  /** Per-site layers the chips of a ViT member are cut from; without it chip models answer degraded. */
  CHIP_LAYERS_FILE: z.string().min(1).optional(),
  /** The stream processor's DuckDB files (past days of the risk map); default STATE_DIR. */
  OFFLINE_STORE_DIR: z.string().min(1).optional(),
  /** Publish every answer of the predict routes on NATS `reefguard.v1.predictions.{site}`. */
  PUBLISH_PREDICTIONS: z.enum(['on', 'off']).default('on'),
  /** Predictions held while NATS is away; beyond it they are dropped and counted. */
  PREDICTIONS_BUFFER: z.coerce.number().int().positive().default(DEFAULT_MAX_BUFFERED),
  POLICY_FILE: z.string().min(1).default(DEFAULT_POLICY_FILE),
};

export type ServingConfig = z.infer<z.ZodObject<typeof servingSettings>>;

export function loadServingConfig(env: Record<string, string | undefined>): ServingConfig {
  return loadConfig(servingSettings, env);
}
