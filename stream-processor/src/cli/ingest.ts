import { isAbsolute, join } from 'node:path';
import { parseArgs } from 'node:util';
import { commonSettings, loadConfig, natsSubjects } from '@reefguard/core';
import { workspaceRoot } from '@reefguard/core/cli/workspace';
import { z } from 'zod';
import { connectNats } from '../connections.js';
import { createFetcher, DEFAULT_FETCH_RETRIES, DEFAULT_FETCH_TIMEOUT_MS } from '../fetcher.js';
import { loadGbrSites } from '../gbr-sites.js';
import { openOfflineStore } from '../offline-store.js';
import { ingestModisDays } from '../satellite-ingest.js';

/** NASA OBPG's file service; the archive needs an Earthdata login, hence configurable. */
export const DEFAULT_MODIS_BASE_URL = 'https://oceandata.sci.gsfc.nasa.gov/ob/getfile/';

const USAGE = `usage: ./reefguard ingest modis --start YYYY-MM-DD --end YYYY-MM-DD [--base-url URL]
                                   [--offline PATH] [--publish]

Fetches MODIS-Aqua L3m daily night SST files (AQUA_MODIS.YYYYMMDD.L3m.DAY.NSST.sst.4km.nc) for
each day, keeps qual_sst 0-1, samples every GBR site and stores the values in the offline store's
satellite_samples table; corrupt or truncated files go to its quarantine table.

  --base-url  where the files are (default ${DEFAULT_MODIS_BASE_URL}, or a replay folder server)
  --offline   DuckDB file (default $REEFGUARD_STATE_DIR/ingest.duckdb)
  --publish   also publish each sample on reefguard.v1.satellite.modis-aqua-l3m-sst

settings: REEFGUARD_FETCH_TIMEOUT_MS, REEFGUARD_FETCH_RETRIES`;

const settings = {
  ...commonSettings,
  FETCH_TIMEOUT_MS: z.coerce.number().positive().default(DEFAULT_FETCH_TIMEOUT_MS),
  FETCH_RETRIES: z.coerce.number().int().min(0).default(DEFAULT_FETCH_RETRIES),
};

const dayOf = (text: string | undefined): number => {
  const ms = Date.parse(`${text ?? ''}T00:00:00Z`);
  if (Number.isNaN(ms)) throw new RangeError(`not a date (YYYY-MM-DD): ${text}`);
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
      'base-url': { type: 'string', default: DEFAULT_MODIS_BASE_URL },
      offline: { type: 'string' },
      publish: { type: 'boolean', default: false },
    },
  });
  if (source !== 'modis' || !values.start || !values.end) {
    console.error(USAGE);
    return 2;
  }
  const config = loadConfig(settings, process.env);
  const root = workspaceRoot();
  const stateDir = isAbsolute(config.STATE_DIR) ? config.STATE_DIR : join(root, config.STATE_DIR);
  const sites = await loadGbrSites(join(root, 'data/sample/gbr_environmental.parquet'));
  const offline = await openOfflineStore(values.offline ?? join(stateDir, 'ingest.duckdb'));
  const nc = values.publish ? await connectNats(config.NATS_URL, config.NATS_TOKEN) : null;
  const days: number[] = [];
  for (let d = dayOf(values.start); d <= dayOf(values.end); d++) days.push(d);
  const started = performance.now();
  try {
    const summary = await ingestModisDays(days, {
      fetcher: createFetcher({
        baseUrl: values['base-url'],
        timeoutMs: config.FETCH_TIMEOUT_MS,
        retries: config.FETCH_RETRIES,
      }),
      sites,
      offline,
      ...(nc
        ? {
            publish: (o) => nc.publish(natsSubjects.satellite(o.product), JSON.stringify(o)),
          }
        : {}),
    });
    const seconds = ((performance.now() - started) / 1000).toFixed(1);
    console.log(
      `${summary.files} files, ${summary.samples} site samples, ${summary.missing.length} missing, ${summary.quarantined.length} quarantined in ${seconds} s`,
    );
    for (const q of summary.quarantined) console.log(`quarantined ${q.payload}: ${q.reason}`);
    return summary.quarantined.length > 0 ? 1 : 0;
  } finally {
    await nc?.close();
    await offline.close();
  }
}
