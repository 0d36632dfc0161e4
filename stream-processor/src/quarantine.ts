import { type BuoyReading, buoyReadingSchema, READING_UNITS } from '@reefguard/core';
import type { SiteRegistry } from './sites.js';

/** Machine-readable reasons an input is set aside; everything else keeps flowing. */
export const QUARANTINE_REASONS = [
  'malformed_json',
  'schema_violation',
  'impossible_value',
  'unknown_site',
  'corrupt_file',
  'truncated_file',
] as const;

export type QuarantineReason = (typeof QUARANTINE_REASONS)[number];

export interface QuarantinedItem {
  source: string;
  reason: QuarantineReason;
  detail: string;
  /** The raw payload (truncated), or the file path for a file. */
  payload: string;
  quarantinedAt: string;
}

/** Physically possible range of each parameter in its contract unit. */
export const PLAUSIBLE_RANGES: Record<keyof typeof READING_UNITS, readonly [number, number]> = {
  water_temperature: [-2.5, 40],
  air_temperature: [-20, 60],
  turbidity: [0, 4000],
  wind_speed: [0, 120],
  salinity: [0, 45],
  par: [0, 3000],
};

/** A reading more than this far in the future has a broken clock. */
export const MAX_CLOCK_SKEW_MS = 60 * 60 * 1000;

const MAX_PAYLOAD_CHARS = 2000;

export type DecodeResult =
  | { ok: true; reading: BuoyReading; observedMs: number }
  | { ok: false; reason: QuarantineReason; detail: string };

const decoder = new TextDecoder();

/** Parses and checks one reading message; says why when it cannot be used. */
export function decodeReading(data: Uint8Array, sites: SiteRegistry, nowMs: number): DecodeResult {
  let json: unknown;
  try {
    json = JSON.parse(decoder.decode(data));
  } catch (e) {
    return { ok: false, reason: 'malformed_json', detail: `json: ${(e as Error).message}` };
  }
  const parsed = buoyReadingSchema.safeParse(json);
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    return {
      ok: false,
      reason: 'schema_violation',
      detail: `${issue?.path.join('.') ?? ''}: ${issue?.message ?? 'invalid'}`,
    };
  }
  const reading = parsed.data;
  const unit = READING_UNITS[reading.parameter];
  if (reading.unit !== unit) {
    return {
      ok: false,
      reason: 'schema_violation',
      detail: `unit: ${reading.parameter} is carried in ${unit}, got ${reading.unit}`,
    };
  }
  const [lo, hi] = PLAUSIBLE_RANGES[reading.parameter];
  if (reading.value < lo || reading.value > hi) {
    return {
      ok: false,
      reason: 'impossible_value',
      detail: `value: ${reading.parameter} ${reading.value} ${unit} outside [${lo}, ${hi}]`,
    };
  }
  const observedMs = Date.parse(reading.observed_at);
  if (observedMs > nowMs + MAX_CLOCK_SKEW_MS) {
    return {
      ok: false,
      reason: 'impossible_value',
      detail: `observed_at: ${reading.observed_at} is in the future`,
    };
  }
  if (!sites.get(reading.site_id)) {
    return { ok: false, reason: 'unknown_site', detail: `site_id: ${reading.site_id}` };
  }
  return { ok: true, reading, observedMs };
}

export function quarantinedItem(
  source: string,
  reason: QuarantineReason,
  detail: string,
  payload: Uint8Array | string,
  nowMs: number,
): QuarantinedItem {
  const text = typeof payload === 'string' ? payload : decoder.decode(payload);
  return {
    source,
    reason,
    detail,
    payload: text.slice(0, MAX_PAYLOAD_CHARS),
    quarantinedAt: new Date(nowMs).toISOString(),
  };
}
