import { setTimeout as sleep } from 'node:timers/promises';
import {
  type BuoyReading,
  buoyReadingSchema,
  READING_UNITS,
  type ReadingParameter,
  readingId,
  SCHEMA_VERSION,
  type Secret,
  TransportError,
} from '@reefguard/core';
import type { ReadingSource, SourceBatch } from './reading-source.js';

export interface AimsSourceOptions {
  /** API root, e.g. https://api.aims.gov.au (the path data-v2.0/{doi}/data is appended). */
  baseUrl: string;
  /** Dataset DOI, e.g. 10.25845/5c09bf93f315d (weather stations). */
  doi: string;
  apiKey: Secret;
  /** The reef site these stations belong to (AIMS site names are not site ids). */
  siteId: string;
  filters?: {
    site?: string;
    series?: string;
    parameter?: string;
    from_date?: string;
    thru_date?: string;
    size?: number;
  };
  /** Poll again for new data after a pass; 0 = one pass then end. */
  pollIntervalMs?: number;
  retries?: number;
  fetch?: typeof fetch;
}

/** AIMS parameter names and the reading parameters they map to. */
const PARAMETERS: Record<string, ReadingParameter> = {
  'Water Temperature': 'water_temperature',
  'Air Temperature': 'air_temperature',
  'Wind Speed': 'wind_speed',
  'Wind Speed (Scalar Avg 10 Minutes)': 'wind_speed',
  Salinity: 'salinity',
  Turbidity: 'turbidity',
  PAR: 'par',
};

interface AimsRecord {
  series_id?: number;
  subsite_id?: number;
  parameter?: string;
  qc_val?: number | null;
  qc_flag?: number | null;
  time?: string;
  lat?: number;
  lon?: number;
  depth?: number | null;
}

interface AimsPage {
  links?: { next?: string | null };
  results?: AimsRecord[];
}

/**
 * Reads the AIMS Data Platform API v2.0: `GET {base}/data-v2.0/{doi}/data` with the key in
 * `X-Api-Key`, following `links.next` until null; `qc_val` is the value. The cursor is the
 * last observation time, so a restart asks only for newer data (`from_date`).
 */
export function createAimsSource(options: AimsSourceOptions): ReadingSource {
  const doFetch = options.fetch ?? fetch;
  const retries = options.retries ?? 3;
  async function getPage(url: string, signal: AbortSignal): Promise<AimsPage> {
    let lastError: unknown;
    for (let attempt = 0; attempt <= retries; attempt++) {
      try {
        const response = await doFetch(url, {
          headers: { 'X-Api-Key': options.apiKey.reveal(), accept: 'application/json' },
          signal,
        });
        if (response.status === 401 || response.status === 403) {
          throw new TransportError(
            `AIMS refused the API key (${response.status}): check AIMS_API_KEY`,
          );
        }
        if (!response.ok) throw new TransportError(`AIMS answered ${response.status} for ${url}`);
        return (await response.json()) as AimsPage;
      } catch (cause) {
        if (signal.aborted || (cause instanceof TransportError && /API key/.test(cause.message)))
          throw cause;
        lastError = cause;
        await sleep(250 * 2 ** attempt, undefined, { signal });
      }
    }
    throw new TransportError(`AIMS did not answer ${url} after ${retries + 1} tries`, {
      cause: lastError,
    });
  }

  function firstUrl(fromDate: string | undefined): string {
    const url = new URL(
      `data-v2.0/${options.doi}/data`,
      options.baseUrl.endsWith('/') ? options.baseUrl : `${options.baseUrl}/`,
    );
    const filters = { ...options.filters, ...(fromDate ? { from_date: fromDate } : {}) };
    for (const [key, value] of Object.entries(filters)) {
      if (value !== undefined) url.searchParams.set(key, String(value));
    }
    return url.toString();
  }

  return {
    kind: 'aims',
    async *batches(signal, resumeFrom) {
      let lastTime = resumeFrom;
      do {
        // Pages of several series interleave in time: filter by where this pass started.
        const passFrom = lastTime;
        let url: string | null | undefined = firstUrl(passFrom);
        while (url && !signal.aborted) {
          const page = await getPage(url, signal);
          const batch = toBatch(page.results ?? [], options.siteId, passFrom);
          if (lastTime === undefined || batch.cursor > lastTime) lastTime = batch.cursor;
          yield { ...batch, cursor: lastTime ?? '' };
          url = page.links?.next;
        }
        if (!options.pollIntervalMs) return;
        await sleep(options.pollIntervalMs, undefined, { signal }).catch(() => undefined);
      } while (!signal.aborted);
    },
    async close() {},
  };
}

function toBatch(records: AimsRecord[], siteId: string, after: string | undefined): SourceBatch {
  const readings: BuoyReading[] = [];
  const rejected: SourceBatch['rejected'] = [];
  let cursor = after ?? '';
  const afterMs = after ? Date.parse(after) : Number.NEGATIVE_INFINITY;
  for (const record of records) {
    const parameter = PARAMETERS[record.parameter ?? ''];
    if (!parameter) {
      rejected.push({
        reason: `unknown AIMS parameter ${record.parameter}`,
        record: JSON.stringify(record),
      });
      continue;
    }
    if (record.qc_val === null || record.qc_val === undefined || !record.time) {
      rejected.push({ reason: 'no qc_val or time', record: JSON.stringify(record) });
      continue;
    }
    const observedAt = new Date(record.time).toISOString();
    // from_date is inclusive: the reading at the resume time is already queued.
    if (Date.parse(observedAt) <= afterMs) continue;
    const stationId = `aims-${record.series_id ?? record.subsite_id ?? 'unknown'}`;
    const parsed = buoyReadingSchema.safeParse({
      schema_version: SCHEMA_VERSION,
      id: readingId(stationId, parameter, observedAt),
      site_id: siteId,
      station_id: stationId,
      parameter,
      value: record.qc_val,
      unit: READING_UNITS[parameter],
      observed_at: observedAt,
      depth_m: record.depth ?? undefined,
      lat: record.lat,
      lon: record.lon,
      qc_flag: record.qc_flag ?? undefined,
      source: 'aims',
    });
    if (!parsed.success) {
      rejected.push({
        reason: parsed.error.issues[0]?.message ?? 'invalid',
        record: JSON.stringify(record),
      });
      continue;
    }
    readings.push(parsed.data);
    if (observedAt > cursor) cursor = observedAt;
  }
  return { readings, cursor, rejected };
}
