import { isAbsolute, join } from 'node:path';
import { parseArgs } from 'node:util';
import type { NatsConnection } from '@nats-io/transport-node';
import {
  commonSettings,
  loadConfig,
  natsSubjects,
  type SatelliteObservation,
  secret,
} from '@reefguard/core';
import { workspaceRoot } from '@reefguard/core/cli/workspace';
import type { Redis } from 'ioredis';
import { z } from 'zod';
import { connectNats, connectRedis } from '../connections.js';
import {
  CRW_ERDDAP_DATASET,
  crwErddapQuery,
  DEFAULT_CRW_DAILY_PATTERN,
  DEFAULT_CRW_ERDDAP_URL,
  DEFAULT_VIRTUAL_STATION_RADIUS_KM,
  ERDDAP_CHUNK_DAYS,
  ingestCrwFiles,
  ingestVirtualStations,
  sitesBox,
} from '../crw-ingest.js';
import { createDhwYearToDate } from '../dhw-ytd.js';
import { createEventState } from '../event-state.js';
import { createFetcher, DEFAULT_FETCH_RETRIES, DEFAULT_FETCH_TIMEOUT_MS } from '../fetcher.js';
import { loadGbrSites } from '../gbr-sites.js';
import { createCrwHeatStress } from '../heat-stress.js';
import { openOfflineStore } from '../offline-store.js';
import { createOnlineStore } from '../online-store.js';
import { ingestModisDays } from '../satellite-ingest.js';
import { ingestSentinel2 } from '../sentinel2-ingest.js';
import { DEFAULT_STATE_PREFIX } from '../service.js';
import { createSiteRegistry } from '../sites.js';
import { DEFAULT_STAC_COLLECTION } from '../stac.js';

/** NASA OBPG's file service; the archive needs an Earthdata login, hence configurable. */
export const DEFAULT_MODIS_BASE_URL = 'https://oceandata.sci.gsfc.nasa.gov/ob/getfile/';
/** Element 84's Earth Search: Sentinel-2 L2A as COGs on AWS, no login. */
export const DEFAULT_STAC_URL = 'https://earth-search.aws.element84.com/v1/';

const USAGE = `usage: ./reefguard ingest modis --start YYYY-MM-DD --end YYYY-MM-DD [--base-url URL]
                                   [--offline PATH] [--publish]
       ./reefguard ingest crw --start YYYY-MM-DD --end YYYY-MM-DD [--base-url ERDDAP_URL]
                                   [--daily [--pattern NAME]] [--offline PATH] [--publish]
       ./reefguard ingest crw-vs --start YYYY-MM-DD --end YYYY-MM-DD --base-url URL
                                   --file NAME [--file NAME ...] [--radius-km KM]
       ./reefguard ingest sentinel2 --start YYYY-MM-DD --end YYYY-MM-DD [--base-url STAC_URL]
                                   [--collection NAME] [--max-cloud PCT] [--offline-only]
                                   [--offline PATH] [--publish]

modis      MODIS-Aqua L3m daily night SST files (AQUA_MODIS.YYYYMMDD.L3m.DAY.NSST.sst.4km.nc)
           for each day, qual_sst 0-1, sampled at every GBR site (default base URL
           ${DEFAULT_MODIS_BASE_URL}, or a replay folder server).
crw        NOAA Coral Reef Watch 5 km SST, SST anomaly, HotSpot, DHW and 7-day BAA: ERDDAP
           griddap subsets (${CRW_ERDDAP_DATASET}.nc, NetCDF-3) of the GBR sites' box in ${ERDDAP_CHUNK_DAYS}-day
           requests (default ${DEFAULT_CRW_ERDDAP_URL}), or with --daily NOAA's daily
           NetCDF-4 files named by --pattern (default ${DEFAULT_CRW_DAILY_PATTERN}). Sampled at
           the cell of every site; DHW and SST anomaly also kept as grids (grid_layers) for chips.
crw-vs     NOAA CRW virtual-station text files: each day's values go to the sites within
           --radius-km (default ${DEFAULT_VIRTUAL_STATION_RADIUS_KM}) of the station.
sentinel2  Sentinel-2 L2A scenes over the sites from a STAC API (default ${DEFAULT_STAC_URL},
           collection ${DEFAULT_STAC_COLLECTION}); a window of the 20 m COGs around each site
           (HTTP range requests), SCL-masked, Nechad turbidity; the values also update each
           site's turbidity history and features in Redis (not with --offline-only).

Samples go to the offline store's satellite_samples table; corrupt or truncated files to its
quarantine table.

  --base-url    where the files / the STAC API are
  --offline     DuckDB file (default $REEFGUARD_STATE_DIR/ingest.duckdb)
  --publish     also publish each sample on reefguard.v1.satellite.{product}

settings: REEFGUARD_FETCH_TIMEOUT_MS, REEFGUARD_FETCH_RETRIES, REEFGUARD_STAC_TOKEN (secret,
          optional bearer token for the STAC API and COG hosts)`;

const settings = {
  ...commonSettings,
  FETCH_TIMEOUT_MS: z.coerce.number().positive().default(DEFAULT_FETCH_TIMEOUT_MS),
  FETCH_RETRIES: z.coerce.number().int().min(0).default(DEFAULT_FETCH_RETRIES),
  STAC_TOKEN: secret().optional(),
};

const SOURCES = ['modis', 'crw', 'crw-vs', 'sentinel2'] as const;

const DEFAULT_BASE_URL: Record<(typeof SOURCES)[number], string | undefined> = {
  modis: DEFAULT_MODIS_BASE_URL,
  crw: DEFAULT_CRW_ERDDAP_URL,
  'crw-vs': undefined,
  sentinel2: DEFAULT_STAC_URL,
};

const dayOf = (flag: string, text: string | undefined): number => {
  const ms = Date.parse(`${text ?? ''}T00:00:00Z`);
  if (Number.isNaN(ms)) throw new RangeError(`--${flag} is not a date (YYYY-MM-DD): ${text}`);
  return ms / 86_400_000;
};

/** `./reefguard ingest SOURCE --start DATE --end DATE`. */
export async function run(args: string[]): Promise<number> {
  const [source, ...rest] = args;
  const { values } = parseArgs({
    args: rest,
    options: {
      start: { type: 'string' },
      end: { type: 'string' },
      'base-url': { type: 'string' },
      collection: { type: 'string', default: DEFAULT_STAC_COLLECTION },
      'max-cloud': { type: 'string' },
      'offline-only': { type: 'boolean', default: false },
      offline: { type: 'string' },
      publish: { type: 'boolean', default: false },
      daily: { type: 'boolean', default: false },
      pattern: { type: 'string', default: DEFAULT_CRW_DAILY_PATTERN },
      file: { type: 'string', multiple: true },
      'radius-km': { type: 'string' },
    },
  });
  if (!SOURCES.includes(source as (typeof SOURCES)[number]) || !values.start || !values.end) {
    console.error(USAGE);
    return 2;
  }
  const startDay = dayOf('start', values.start);
  const endDay = dayOf('end', values.end);
  if (endDay < startDay) {
    console.error(`--end ${values.end} is before --start ${values.start}`);
    return 2;
  }
  const baseUrl = values['base-url'] ?? DEFAULT_BASE_URL[source as (typeof SOURCES)[number]];
  if (!baseUrl) {
    console.error(`ingest ${source} needs --base-url (where the files are)`);
    return 2;
  }
  if (source === 'crw-vs' && !values.file?.length) {
    console.error('ingest crw-vs needs at least one --file NAME (a virtual-station .txt file)');
    return 2;
  }
  const radiusKm = Number(values['radius-km'] ?? DEFAULT_VIRTUAL_STATION_RADIUS_KM);
  if (!(radiusKm > 0)) {
    console.error(`--radius-km must be a positive number, got "${values['radius-km']}"`);
    return 2;
  }
  const maxCloud = values['max-cloud'] === undefined ? undefined : Number(values['max-cloud']);
  if (maxCloud !== undefined && !(maxCloud >= 0 && maxCloud <= 100)) {
    console.error(`--max-cloud must be a percentage 0..100, got "${values['max-cloud']}"`);
    return 2;
  }
  const config = loadConfig(settings, process.env);
  const root = workspaceRoot();
  const stateDir = isAbsolute(config.STATE_DIR) ? config.STATE_DIR : join(root, config.STATE_DIR);
  const sites = await loadGbrSites(join(root, 'data/sample/gbr_environmental.parquet'));
  const offline = await openOfflineStore(values.offline ?? join(stateDir, 'ingest.duckdb'));
  let nc: NatsConnection | null = null;
  let redis: Redis | null = null;
  const started = performance.now();
  const seconds = () => ((performance.now() - started) / 1000).toFixed(1);
  try {
    nc = values.publish ? await connectNats(config.NATS_URL, config.NATS_TOKEN) : null;
    const publish = nc
      ? (o: SatelliteObservation) =>
          nc?.publish(natsSubjects.satellite(o.product), JSON.stringify(o))
      : undefined;
    const fetcher = createFetcher({
      baseUrl,
      timeoutMs: config.FETCH_TIMEOUT_MS,
      retries: config.FETCH_RETRIES,
      ...(config.STAC_TOKEN && source === 'sentinel2'
        ? { headers: { authorization: `Bearer ${config.STAC_TOKEN.reveal()}` } }
        : {}),
    });
    if (source === 'modis') {
      const days: number[] = [];
      for (let d = startDay; d <= endDay; d++) days.push(d);
      const summary = await ingestModisDays(days, {
        fetcher,
        sites,
        offline,
        ...(publish ? { publish } : {}),
        onProgress: (sofar, lastFile) =>
          console.log(
            `${sofar.files}/${days.length} files stored (${sofar.samples} site samples, up to ${lastFile}) in ${seconds()} s`,
          ),
      });
      console.log(
        `${summary.files} files, ${summary.samples} site samples, ${summary.missing.length} missing, ${summary.quarantined.length} quarantined in ${seconds()} s`,
      );
      for (const q of summary.quarantined) console.log(`quarantined ${q.payload}: ${q.reason}`);
      return summary.quarantined.length > 0 ? 1 : 0;
    }
    if (source === 'crw' || source === 'crw-vs') {
      const onFile = (line: string) => console.log(line);
      const common = { fetcher, sites, offline, onFile, ...(publish ? { publish } : {}) };
      let summary: Awaited<ReturnType<typeof ingestCrwFiles>>;
      if (source === 'crw-vs') {
        summary = await ingestVirtualStations(values.file ?? [], startDay, endDay, {
          ...common,
          radiusKm,
        });
      } else {
        const paths: string[] = [];
        if (values.daily) {
          for (let d = startDay; d <= endDay; d++) {
            const ymd = new Date(d * 86_400_000).toISOString().slice(0, 10).replaceAll('-', '');
            paths.push(values.pattern.replaceAll('{yyyymmdd}', ymd));
          }
        } else {
          const box = sitesBox(sites);
          for (let d = startDay; d <= endDay; d += ERDDAP_CHUNK_DAYS) {
            paths.push(crwErddapQuery(d, Math.min(d + ERDDAP_CHUNK_DAYS - 1, endDay), box));
          }
        }
        summary = await ingestCrwFiles(paths, common);
      }
      console.log(
        `${summary.files} files, ${summary.samples} site samples, ${summary.gridCells} grid cells, ${summary.missing.length} missing, ${summary.quarantined.length} quarantined in ${seconds()} s`,
      );
      return summary.quarantined.length > 0 ? 1 : 0;
    }
    redis = values['offline-only'] ? null : await connectRedis(config.REDIS_URL);
    const summary = await ingestSentinel2(startDay, endDay, {
      stac: fetcher,
      collection: values.collection,
      sites,
      offline,
      ...(maxCloud !== undefined ? { maxCloudCoverPct: maxCloud } : {}),
      ...(publish ? { publish } : {}),
      ...(redis
        ? {
            features: {
              // A one-off run over a known set of sites: keep them all (no re-reads per scene).
              state: createEventState({
                redis,
                prefix: DEFAULT_STATE_PREFIX,
                sitesKept: Math.max(1, sites.length),
              }),
              sites: createSiteRegistry(sites),
              offline,
              online: createOnlineStore({ redis }),
              heat: createCrwHeatStress(),
              dhwYtd: createDhwYearToDate({ redis, prefix: DEFAULT_STATE_PREFIX }),
            },
          }
        : {}),
      onScene: (line) => console.log(line),
    });
    console.log(
      `${summary.scenes} scenes, ${summary.observations} site values, ${summary.masked} masked, ${summary.skipped.length} skipped, ${summary.quarantined.length} quarantined, ${summary.featuresApplied} applied to features in ${seconds()} s`,
    );
    return summary.quarantined.length > 0 ? 1 : 0;
  } finally {
    await nc?.close();
    await redis?.quit();
    await offline.close();
  }
}
