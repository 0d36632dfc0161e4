import { z } from 'zod';
import { ConfigError } from './errors.js';
import { Secret } from './secret.js';

/** Every setting is an environment variable with this prefix. */
export const ENV_PREFIX = 'REEFGUARD_';

/** A zod type for a secret setting: the string is wrapped in a `Secret` at parse time. */
export const secret = () =>
  z
    .string()
    .min(1)
    .transform((value) => new Secret(value));

/** `"true"/"1"/"yes"` and their opposites, as environment variables spell booleans. */
export const envBoolean = () =>
  z
    .enum(['true', 'false', '1', '0', 'yes', 'no'])
    .transform((value) => value === 'true' || value === '1' || value === 'yes');

/** A shape of settings, keyed by the environment variable name without the prefix. */
export type SettingsShape = Record<string, z.ZodType>;

/**
 * Parses the settings a process needs from `env` once, at start-up. Keys of `shape` are the
 * variable names without `REEFGUARD_` (e.g. `MQTT_URL`); the result uses the same keys.
 * Every problem is reported together, naming the variable; secret values are never echoed.
 */
export function loadConfig<S extends SettingsShape>(
  shape: S,
  env: Record<string, string | undefined>,
): z.infer<z.ZodObject<S>> {
  const input: Record<string, string> = {};
  for (const key of Object.keys(shape)) {
    const value = env[ENV_PREFIX + key];
    if (value !== undefined && value !== '') input[key] = value;
  }
  const parsed = z.object(shape).safeParse(input);
  if (!parsed.success) {
    const problems = parsed.error.issues.map(
      (issue) => `${ENV_PREFIX}${issue.path.join('.')}: ${issue.message}`,
    );
    throw new ConfigError(`invalid settings:\n  ${problems.join('\n  ')}`);
  }
  return parsed.data;
}

/** Settings shared by every service: where the brokers, Redis and local state live. */
export const DEFAULT_MQTT_URL = 'mqtt://127.0.0.1:1883';
export const DEFAULT_NATS_URL = 'nats://127.0.0.1:4222';
export const DEFAULT_REDIS_URL = 'redis://127.0.0.1:6379';
export const DEFAULT_STATE_DIR = '.reefguard';

export const commonSettings = {
  MQTT_URL: z.url().default(DEFAULT_MQTT_URL),
  MQTT_USERNAME: z.string().optional(),
  MQTT_PASSWORD: secret().optional(),
  NATS_URL: z.string().min(1).default(DEFAULT_NATS_URL),
  NATS_TOKEN: secret().optional(),
  REDIS_URL: secret().default(new Secret(DEFAULT_REDIS_URL)),
  STATE_DIR: z.string().min(1).default(DEFAULT_STATE_DIR),
  LOG_LEVEL: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace']).default('info'),
} satisfies SettingsShape;

export type CommonConfig = z.infer<z.ZodObject<typeof commonSettings>>;
