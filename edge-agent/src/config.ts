import { readFile } from 'node:fs/promises';
import {
  ConfigError,
  commonSettings,
  ENV_PREFIX,
  envBoolean,
  loadConfig,
  secret,
} from '@reefguard/core';
import { z } from 'zod';
import { DEFAULT_FSYNC_INTERVAL_MS, FSYNC_POLICIES } from './file-outbox.js';
import { DEFAULT_BATCH_SIZE } from './forwarder.js';
import { DEFAULT_DUPLICATE_WINDOW_MS, DEFAULT_READINGS_STREAM } from './nats-link.js';
import { DEFAULT_OUTBOX_MAX_BYTES, DEFAULT_OUTBOX_MAX_MESSAGES, FULL_POLICIES } from './outbox.js';

const int = (fallback: number) => z.coerce.number().int().nonnegative().default(fallback);
const numberList = z
  .string()
  .transform((text) => text.split(',').map((v) => Number(v.trim())))
  .pipe(z.array(z.number().finite()).length(12));

export const DEFAULT_HEALTH_PORT = 9464;
export const DEFAULT_HEARTBEAT_MS = 30_000;
export const DEFAULT_FLUSH_TIMEOUT_MS = 10_000;
/** CRW Alert Level 1 (HotSpot >= 1 and DHW >= 4): where bleaching becomes likely. */
export const DEFAULT_ALERT_LEVEL_THRESHOLD = 3;

/** Every edge-agent setting: `REEFGUARD_<KEY>` in the environment or `KEY` in the config file. */
export const edgeSettings = {
  ...commonSettings,
  AGENT_ID: z.string().regex(/^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$/),
  SITE_ID: z.string().regex(/^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$/),
  STATION_ID: z.string().min(1).max(64),
  TRANSPORT: z.enum(['mqtt', 'nats', 'both']).default('both'),
  MQTT_CA_FILE: z.string().optional(),
  MQTT_CERT_FILE: z.string().optional(),
  MQTT_KEY_FILE: z.string().optional(),
  NATS_USERNAME: z.string().optional(),
  NATS_PASSWORD: secret().optional(),
  NATS_CA_FILE: z.string().optional(),
  /** Readings stream to create when missing; "none" leaves streams to the operators. */
  NATS_STREAM: z.string().default(DEFAULT_READINGS_STREAM),
  NATS_DUPLICATE_WINDOW_MS: int(DEFAULT_DUPLICATE_WINDOW_MS),
  RECONNECT_BASE_MS: int(500),
  SOURCE: z.enum(['aims', 'replay', 'line']).default('replay'),
  AIMS_BASE_URL: z.url().default('https://api.aims.gov.au'),
  AIMS_DOI: z.string().default('10.25845/5c09bf93f315d'),
  AIMS_API_KEY: secret().optional(),
  AIMS_SERIES: z.string().optional(),
  AIMS_PARAMETER: z.string().optional(),
  AIMS_FROM_DATE: z.string().optional(),
  AIMS_THRU_DATE: z.string().optional(),
  AIMS_POLL_INTERVAL_MS: int(0),
  REPLAY_FILE: z.string().optional(),
  REPLAY_GENERATE_COUNT: int(0),
  REPLAY_START_AT: z.iso.datetime({ offset: true }).default('2024-01-01T00:00:00Z'),
  REPLAY_INTERVAL_MS: int(600_000),
  REPLAY_SPEED: z.coerce.number().nonnegative().default(0),
  LINE_PATH: z.string().default('-'),
  OUTBOX_MAX_MESSAGES: int(DEFAULT_OUTBOX_MAX_MESSAGES),
  OUTBOX_MAX_BYTES: int(DEFAULT_OUTBOX_MAX_BYTES),
  OUTBOX_FULL_POLICY: z.enum(FULL_POLICIES).default('drop-oldest'),
  OUTBOX_FSYNC: z.enum(FSYNC_POLICIES).default('interval'),
  OUTBOX_FSYNC_INTERVAL_MS: int(DEFAULT_FSYNC_INTERVAL_MS),
  BATCH_SIZE: int(DEFAULT_BATCH_SIZE),
  MODEL_DIR: z.string().optional(),
  MODEL_BACKEND: z.enum(['node', 'web']).default('node'),
  MODEL_PUBLIC_KEY_FILE: z.string().optional(),
  MODEL_UPDATES: envBoolean().default(true),
  MMM_C: z.coerce.number().optional(),
  CLIMATOLOGY_MONTHLY_C: numberList.optional(),
  RISK_ALERT_THRESHOLD: z.coerce.number().min(0).max(1).optional(),
  ALERT_LEVEL_THRESHOLD: z.coerce
    .number()
    .int()
    .min(0)
    .max(7)
    .default(DEFAULT_ALERT_LEVEL_THRESHOLD),
  ALERT_WEBHOOK_URL: z.url().optional(),
  HEALTH_HOST: z.string().default('127.0.0.1'),
  /** 0 picks a free port (tests); the unit uses the default. */
  HEALTH_PORT: int(DEFAULT_HEALTH_PORT),
  HEARTBEAT_MS: int(DEFAULT_HEARTBEAT_MS),
  FLUSH_TIMEOUT_MS: int(DEFAULT_FLUSH_TIMEOUT_MS),
};

export type EdgeConfig = z.infer<z.ZodObject<typeof edgeSettings>>;

/**
 * Parses the settings once: values from the JSON config file (keys without the prefix),
 * overridden by `REEFGUARD_*` variables, validated together with every problem named.
 */
export function loadEdgeConfig(
  file: Record<string, unknown>,
  env: Record<string, string | undefined>,
): EdgeConfig {
  const merged: Record<string, string | undefined> = {};
  for (const [key, value] of Object.entries(file)) {
    if (!(key in edgeSettings)) throw new ConfigError(`config file: unknown setting ${key}`);
    merged[ENV_PREFIX + key] = Array.isArray(value) ? value.join(',') : String(value);
  }
  return loadConfig(edgeSettings, { ...merged, ...env });
}

export async function readConfigFile(path: string): Promise<Record<string, unknown>> {
  try {
    return JSON.parse(await readFile(path, 'utf8')) as Record<string, unknown>;
  } catch (cause) {
    throw new ConfigError(`config file ${path} is missing or not JSON`, { cause });
  }
}
