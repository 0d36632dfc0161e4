import type { SatelliteObservation } from '@reefguard/core';
import type { Fetcher } from './fetcher.js';
import type { ProcessorMetrics } from './metrics.js';
import { readModisL3mSst, SatelliteFileError, sampleGridAtSites } from './modis-l3m.js';
import type { OfflineStore } from './offline-store.js';
import { type QuarantinedItem, quarantinedItem } from './quarantine.js';
import type { SiteProfile } from './sites.js';

/** NASA OBPG file names: AQUA_MODIS.YYYYMMDD.L3m.DAY.NSST.sst.4km.nc (night SST, 4 km). */
export function modisL3mFileName(day: number, suite = 'NSST', resolution = '4km'): string {
  const ymd = new Date(day * 86_400_000).toISOString().slice(0, 10).replaceAll('-', '');
  return `AQUA_MODIS.${ymd}.L3m.DAY.${suite}.sst.${resolution}.nc`;
}

export interface IngestOptions {
  fetcher: Fetcher;
  sites: readonly SiteProfile[];
  offline: OfflineStore;
  metrics?: ProcessorMetrics;
  /** Publishes each sample (e.g. on reefguard.v1.satellite.{product}). */
  publish?: (observation: SatelliteObservation) => void;
  fileName?: (day: number) => string;
  now?: () => number;
}

export interface IngestSummary {
  files: number;
  samples: number;
  missing: string[];
  quarantined: QuarantinedItem[];
}

/**
 * Ingests MODIS L3m daily SST for each day: fetch, read, sample at every site, store in
 * `satellite_samples` (idempotent by id). A corrupt or truncated file is quarantined with its
 * reason and the run goes on; a day without a file is reported as missing.
 */
export async function ingestModisDays(days: Iterable<number>, options: IngestOptions) {
  const now = options.now ?? Date.now;
  const summary: IngestSummary = { files: 0, samples: 0, missing: [], quarantined: [] };
  for (const day of days) {
    const name = (options.fileName ?? modisL3mFileName)(day);
    let bytes: Uint8Array;
    try {
      bytes = await options.fetcher.get(name);
    } catch (e) {
      if ((e as Error).name === 'NotFoundError') {
        summary.missing.push(name);
        continue;
      }
      throw e;
    }
    try {
      const grid = await readModisL3mSst(bytes, { name });
      const observedAt = new Date(day * 86_400_000 + 43_200_000).toISOString();
      const samples = sampleGridAtSites(grid, options.sites, {
        observedAt,
        sourceUri: options.fetcher.url(name),
      });
      await options.offline.appendSatellite(samples, now());
      for (const s of samples) options.publish?.(s);
      summary.files += 1;
      summary.samples += samples.length;
    } catch (e) {
      if (!(e instanceof SatelliteFileError)) throw e;
      const item = quarantinedItem('modis-aqua-l3m-sst', e.reason, e.message, name, now());
      summary.quarantined.push(item);
      options.metrics?.quarantined.inc({ source: item.source, reason: item.reason });
      await options.offline.appendQuarantine([item]);
    }
  }
  return summary;
}
