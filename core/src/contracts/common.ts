import { z } from 'zod';

/** Version of every message schema in this file set; bump on a breaking change. */
export const SCHEMA_VERSION = 1;

export const schemaVersion = z.literal(SCHEMA_VERSION);

/** ISO-8601 instant with an explicit offset, e.g. `2024-02-01T03:00:00Z`. */
export const isoTime = z.iso.datetime({ offset: true });

/** Site identifiers are GBRMPA-style reef ids or `pixel-<n>`: safe in topics and Redis keys. */
export const siteId = z
  .string()
  .regex(/^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$/, 'site ids use letters, digits, ".", "_" and "-"');

export const latitude = z.number().min(-90).max(90);
export const longitude = z.number().min(-180).max(180);

/** Correlates every step of one loop (drift -> retrain -> register -> canary -> announce). */
export const traceId = z.string().min(8).max(64);

export const sha256Hex = z.string().regex(/^[0-9a-f]{64}$/, 'a lowercase hex sha256 digest');
