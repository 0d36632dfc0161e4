import {
  type BuoyReading,
  buoyReadingSchema,
  isoTime,
  READING_UNITS,
  SCHEMA_VERSION,
  siteId,
} from '@reefguard/core';
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
  const reading = fastReading(json);
  return reading ? checkReading(reading, sites, nowMs) : checkJson(json, sites, nowMs);
}

/**
 * The same checks as {@link decodeReading} with the contract's zod schema on every message:
 * the reference the fast path is tested against.
 */
export function decodeReadingWithSchema(
  data: Uint8Array,
  sites: SiteRegistry,
  nowMs: number,
): DecodeResult {
  let json: unknown;
  try {
    json = JSON.parse(decoder.decode(data));
  } catch (e) {
    return { ok: false, reason: 'malformed_json', detail: `json: ${(e as Error).message}` };
  }
  return checkJson(json, sites, nowMs);
}

const ISO_TIME = isoTime._zod.pattern as RegExp;
const SOURCES: ReadonlySet<unknown> = new Set(['aims', 'replay', 'serial', 'generated']);
/** Site ids already accepted by the contract's pattern (known sites only: bounded). */
const validSiteIds = new Set<string>();

const isText = (v: unknown, min: number, max: number): v is string =>
  typeof v === 'string' && v.length >= min && v.length <= max;
const inRange = (v: unknown, lo: number, hi: number): v is number =>
  typeof v === 'number' && v >= lo && v <= hi;

/**
 * The buoy-reading contract checked by hand (about five times cheaper than the zod object
 * per message): a reading, with unknown keys dropped as zod does, when every field passes,
 * else undefined and the caller runs the zod schema for its error message. It never accepts
 * what the schema rejects: the time pattern is the schema's own and a site id passes the
 * schema once before it is remembered.
 */
function fastReading(json: unknown): BuoyReading | undefined {
  if (typeof json !== 'object' || json === null || Array.isArray(json)) return undefined;
  const o = json as Record<string, unknown>;
  const { parameter, value, observed_at, depth_m, lat, lon, qc_flag } = o;
  if (o.schema_version !== SCHEMA_VERSION || !isText(o.id, 1, 200)) return undefined;
  if (!isText(o.station_id, 1, 64) || !isText(o.unit, 1, Number.POSITIVE_INFINITY))
    return undefined;
  if (typeof parameter !== 'string' || !Object.hasOwn(READING_UNITS, parameter)) return undefined;
  if (typeof value !== 'number' || !Number.isFinite(value) || !SOURCES.has(o.source)) {
    return undefined;
  }
  if (typeof observed_at !== 'string' || !ISO_TIME.test(observed_at)) return undefined;
  if (depth_m !== undefined && !inRange(depth_m, 0, 200)) return undefined;
  if (lat !== undefined && !inRange(lat, -90, 90)) return undefined;
  if (lon !== undefined && !inRange(lon, -180, 180)) return undefined;
  if (qc_flag !== undefined && !(inRange(qc_flag, 0, 9) && Number.isInteger(qc_flag))) {
    return undefined;
  }
  const site = o.site_id;
  if (typeof site !== 'string') return undefined;
  if (!validSiteIds.has(site)) {
    if (!siteId.safeParse(site).success) return undefined;
    validSiteIds.add(site);
  }
  const reading = {
    schema_version: SCHEMA_VERSION,
    id: o.id,
    site_id: site,
    station_id: o.station_id,
    parameter,
    value,
    unit: o.unit,
    observed_at,
  } as BuoyReading;
  if (depth_m !== undefined) reading.depth_m = depth_m;
  if (lat !== undefined) reading.lat = lat;
  if (lon !== undefined) reading.lon = lon;
  if (qc_flag !== undefined) reading.qc_flag = qc_flag;
  reading.source = o.source as BuoyReading['source'];
  return reading;
}

function checkJson(json: unknown, sites: SiteRegistry, nowMs: number): DecodeResult {
  const parsed = buoyReadingSchema.safeParse(json);
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    return {
      ok: false,
      reason: 'schema_violation',
      detail: `${issue?.path.join('.') ?? ''}: ${issue?.message ?? 'invalid'}`,
    };
  }
  return checkReading(parsed.data, sites, nowMs);
}

/** The checks beyond the schema: unit, plausible range, clock and known site. */
function checkReading(reading: BuoyReading, sites: SiteRegistry, nowMs: number): DecodeResult {
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
