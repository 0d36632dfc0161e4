import type { SatelliteObservation } from '@reefguard/core';
import type { Fetcher } from './fetcher.js';
import type { ProcessorMetrics } from './metrics.js';
import {
  readModisL3mSst,
  SatelliteFileError,
  sampleGridAtSites,
  sitesLatLonBox,
} from './modis-l3m.js';
import type { OfflineStore } from './offline-store.js';
import { type QuarantinedItem, quarantinedItem } from './quarantine.js';
import type { SiteProfile } from './sites.js';

/** NASA OBPG file names: AQUA_MODIS.YYYYMMDD.L3m.DAY.NSST.sst.4km.nc (night SST, 4 km). */
export function modisL3mFileName(day: number, suite = 'NSST', resolution = '4km'): string {
  const ymd = new Date(day * 86_400_000).toISOString().slice(0, 10).replaceAll('-', '');
  return `AQUA_MODIS.${ymd}.L3m.DAY.${suite}.sst.${resolution}.nc`;
}

/** Files fetched ahead of the one being read (their bytes held in memory). */
export const DEFAULT_MODIS_PREFETCH = 2;
/**
 * Days whose samples are stored in one offline-store call: each call costs a statement and a
 * primary-key merge on top of its rows, so a few days at a time cost less than one by one.
 */
export const DEFAULT_MODIS_DAYS_PER_COMMIT = 8;

/** Where an ingest's time goes (ms; fetch and store overlap the rest, so they can sum past wall). */
export interface IngestTimings {
  fetchMs: number;
  decodeMs: number;
  sampleMs: number;
  storeMs: number;
}

export const emptyIngestTimings = (): IngestTimings => ({
  fetchMs: 0,
  decodeMs: 0,
  sampleMs: 0,
  storeMs: 0,
});

export interface IngestOptions {
  fetcher: Fetcher;
  sites: readonly SiteProfile[];
  offline: OfflineStore;
  metrics?: ProcessorMetrics;
  /** Publishes each sample (e.g. on reefguard.v1.satellite.{product}) once it is stored. */
  publish?: (observation: SatelliteObservation) => void;
  fileName?: (day: number) => string;
  now?: () => number;
  /** Files fetched ahead (default DEFAULT_MODIS_PREFETCH). */
  prefetch?: number;
  /** Days stored per offline-store call (default DEFAULT_MODIS_DAYS_PER_COMMIT). */
  daysPerCommit?: number;
  /** false: wait for each store before reading the next file (no overlap; for comparisons). */
  overlapStores?: boolean;
  /** Called after each stored group of days, with the running summary. */
  onProgress?: (summary: Readonly<IngestSummary>, lastFile: string) => void;
  /** Accumulates time per phase. */
  timings?: IngestTimings;
}

export interface IngestSummary {
  files: number;
  samples: number;
  missing: string[];
  quarantined: QuarantinedItem[];
}

type Fetched = { bytes: Uint8Array } | { missing: true } | { error: unknown };

/**
 * Ingests MODIS L3m daily SST for each day: fetch, read (only the rows and columns around the
 * sites), sample at every site, store in `satellite_samples` (idempotent by id). A corrupt or
 * truncated file is quarantined with its reason and the run goes on; a day without a file is
 * reported as missing.
 *
 * Pipelined: the next files are fetched while one is read, and a group of days is stored while
 * the next group is read; stores run one at a time in day order, so a killed ingest has stored
 * a prefix of the days and a re-run (ids ignored when already stored) completes it.
 */
export async function ingestModisDays(days: Iterable<number>, options: IngestOptions) {
  const now = options.now ?? Date.now;
  const timings = options.timings ?? emptyIngestTimings();
  const prefetch = Math.max(0, options.prefetch ?? DEFAULT_MODIS_PREFETCH);
  const daysPerCommit = Math.max(1, options.daysPerCommit ?? DEFAULT_MODIS_DAYS_PER_COMMIT);
  const summary: IngestSummary = { files: 0, samples: 0, missing: [], quarantined: [] };
  const box = sitesLatLonBox(options.sites);
  const names = [...days].map((day) => ({
    day,
    name: (options.fileName ?? modisL3mFileName)(day),
  }));

  const fetching: Promise<Fetched>[] = [];
  const fetchFile = (k: number): Promise<Fetched> => {
    const name = names[k]?.name as string;
    const started = performance.now();
    return options.fetcher.get(name).then(
      (bytes) => {
        timings.fetchMs += performance.now() - started;
        return { bytes };
      },
      (error: unknown) =>
        (error as Error).name === 'NotFoundError' ? { missing: true } : { error },
    );
  };

  // The store in flight; its failure is raised at the next await of it, never unhandled.
  let storing: Promise<void> = Promise.resolve();
  const enqueue = (work: () => Promise<void>) => {
    const next = storing.then(work);
    next.catch(() => undefined);
    storing = next;
  };
  let group: SatelliteObservation[] = [];
  let groupFiles = 0;
  let lastFile = '';
  const flush = async () => {
    if (groupFiles === 0) return;
    const rows = group;
    const files = groupFiles;
    const last = lastFile;
    group = [];
    groupFiles = 0;
    // One store in flight while the next group is read: memory stays at two groups.
    await storing;
    enqueue(async () => {
      const started = performance.now();
      await options.offline.appendSatellite(rows, now());
      timings.storeMs += performance.now() - started;
      if (options.publish) for (const s of rows) options.publish(s);
      summary.files += files;
      summary.samples += rows.length;
      options.onProgress?.(summary, last);
    });
    if (options.overlapStores === false) await storing;
  };

  for (let k = 0; k < names.length; k++) {
    for (let ahead = fetching.length; ahead <= Math.min(k + prefetch, names.length - 1); ahead++) {
      fetching.push(fetchFile(ahead));
    }
    const { day, name } = names[k] as { day: number; name: string };
    const fetched = await (fetching[k] as Promise<Fetched>);
    delete fetching[k];
    if ('missing' in fetched) {
      summary.missing.push(name);
      continue;
    }
    if ('error' in fetched) {
      await storing;
      throw fetched.error;
    }
    try {
      let started = performance.now();
      const grid = await readModisL3mSst(fetched.bytes, { name, ...(box ? { box } : {}) });
      timings.decodeMs += performance.now() - started;
      started = performance.now();
      const observedAt = new Date(day * 86_400_000 + 43_200_000).toISOString();
      const samples = sampleGridAtSites(grid, options.sites, {
        observedAt,
        sourceUri: options.fetcher.url(name),
      });
      timings.sampleMs += performance.now() - started;
      for (const s of samples) group.push(s);
      groupFiles += 1;
      lastFile = name;
      if (groupFiles >= daysPerCommit) await flush();
    } catch (e) {
      if (!(e instanceof SatelliteFileError)) {
        await storing.catch(() => undefined);
        throw e;
      }
      const item = quarantinedItem('modis-aqua-l3m-sst', e.reason, e.message, name, now());
      summary.quarantined.push(item);
      options.metrics?.quarantined.inc({ source: item.source, reason: item.reason });
      // In day order with the stores around it.
      await flush();
      enqueue(() => options.offline.appendQuarantine([item]));
    }
  }
  await flush();
  await storing;
  return summary;
}
