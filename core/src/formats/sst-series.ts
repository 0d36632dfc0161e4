/** A time-major SST series: one point, many sites, or a (time, lat, lon) grid per day. */
export interface SstSeries {
  /** Whole days since 1970-01-01 UTC, strictly increasing. */
  days: Int32Array;
  /** SST (degC) of row t, pixel p at `t * pixels + p`; NaN = missing. */
  sstC: Float64Array;
  pixels: number;
  /** Pixel centres, degrees (NaN when the source has none). */
  latDeg: Float64Array;
  lonDeg: Float64Array;
}

const DAY_MS = 86_400_000;

/** Whole days since 1970-01-01 UTC of an ISO date or date-time (the UTC calendar day). */
export function epochDayOf(iso: string): number {
  const text = iso.trim();
  const ms = Date.parse(/^\d{4}-\d{2}-\d{2}$/.test(text) ? `${text}T00:00:00Z` : text);
  return Math.floor(ms / DAY_MS);
}

/** YYYY-MM-DD of a day since 1970-01-01 UTC. */
export function isoDateOf(day: number): string {
  return new Date(day * DAY_MS).toISOString().slice(0, 10);
}
