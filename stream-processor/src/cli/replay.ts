import { isAbsolute, join } from 'node:path';
import { parseArgs } from 'node:util';
import {
  commonSettings,
  loadConfig,
  natsSubjects,
  READING_UNITS,
  readingId,
} from '@reefguard/core';
import { workspaceRoot } from '@reefguard/core/cli/workspace';
import { connectNats, createSubjectPublisher } from '../connections.js';
import { ensureReadingsConsumer } from '../jetstream-source.js';
import {
  heatwaveSlice,
  loadReplayPixels,
  type ReplayPixel,
  seasonSst,
  writeReplaySeason,
} from '../replay.js';
import { startReplayStacServer, writeReplaySentinel2 } from '../replay-sentinel2.js';

const USAGE = `usage: ./reefguard replay --season YEAR [--out DIR] [--buoys N] [--sentinel2 N]
                                 [--stac-port PORT]

Writes one MODIS L3m-style daily SST file (NetCDF4) per day of the season (1 Dec YEAR-1 ..
30 Apr YEAR) on a 0.01-degree grid over the 15,928 GBR reef pixels: each pixel's seasonal
cycle plus a marine heatwave calibrated so that CRW DHW reaches the shipped annual maximum
DHW of YEAR (1986-2017). Then publishes one noon water-temperature reading per day for the
first N pixels (default 20, 0 for none) on JetStream. Serve --out over HTTP and run
./reefguard ingest modis --base-url ... to ingest the files.

Also writes Sentinel-2 L2A scenes (STAC items + 20 m COGs of B04, B05, B11, SCL, every 5 days,
turbidity from the pixel's shipped Kd490) for the first N pixels (default 20) under
DIR/sentinel2; with --stac-port it then serves them as a STAC API until interrupted, for
./reefguard ingest sentinel2 --base-url http://127.0.0.1:PORT/.

  --out DIR         where the files go (default $REEFGUARD_STATE_DIR/replay/YEAR)
  --stac-port PORT  serve DIR/sentinel2 as a STAC API on this loopback port afterwards`;

/** `./reefguard replay --season YEAR`. */
export async function run(args: string[]): Promise<number> {
  const { values } = parseArgs({
    args,
    options: {
      season: { type: 'string' },
      out: { type: 'string' },
      buoys: { type: 'string', default: '20' },
      sentinel2: { type: 'string', default: '20' },
      'stac-port': { type: 'string' },
    },
  });
  const year = Number(values.season);
  if (!values.season || !Number.isInteger(year)) {
    console.error(USAGE);
    return 2;
  }
  const config = loadConfig(commonSettings, process.env);
  const root = workspaceRoot();
  const stateDir = isAbsolute(config.STATE_DIR) ? config.STATE_DIR : join(root, config.STATE_DIR);
  const outDir = values.out ?? join(stateDir, 'replay', String(year));
  const started = performance.now();
  const pixels = await loadReplayPixels(join(root, 'data/sample'), year);
  const season = await writeReplaySeason(pixels, year, outDir, {
    onProgress: (written, of) => {
      if (written % 30 === 0 || written === of) console.log(`${written}/${of} daily files written`);
    },
  });
  console.log(
    `${season.files.length} daily files for ${pixels.length} reef pixels in ${outDir} (${((performance.now() - started) / 1000).toFixed(1)} s)`,
  );
  const scenes = pixels.slice(0, Number(values.sentinel2)).filter((p) => Number.isFinite(p.k490));
  if (scenes.length > 0) {
    const ids = await writeReplaySentinel2(scenes, season.days, outDir);
    console.log(
      `${ids.length} Sentinel-2 scenes for ${scenes.length} pixels in ${join(outDir, 'sentinel2')}`,
    );
  }
  const buoys = pixels.slice(0, Number(values.buoys));
  if (buoys.length > 0) await publishBuoys(config, buoys, season, year);
  if (values['stac-port'] !== undefined) {
    const server = await startReplayStacServer(outDir, Number(values['stac-port']));
    console.log(`STAC API at ${server.url} (Ctrl-C to stop)`);
    await new Promise<void>((resolve) => {
      process.once('SIGINT', () => resolve());
      process.once('SIGTERM', () => resolve());
    });
    await server.close();
  }
  return 0;
}

async function publishBuoys(
  config: ReturnType<typeof loadConfig<typeof commonSettings>>,
  buoys: ReplayPixel[],
  season: Awaited<ReturnType<typeof writeReplaySeason>>,
  year: number,
) {
  const sst = seasonSst(buoys, season.days, heatwaveSlice(season.heatwave, 0, buoys.length), year);
  const nc = await connectNats(config.NATS_URL, config.NATS_TOKEN);
  try {
    await ensureReadingsConsumer({ nc });
    const publisher = createSubjectPublisher(nc);
    let sent = 0;
    for (const [t, day] of season.days.entries()) {
      const observedAt = new Date(day * 86_400_000 + 43_200_000).toISOString();
      for (const [p, pixel] of buoys.entries()) {
        const station = `replay-${pixel.siteId}`;
        const reading = {
          schema_version: 1,
          id: readingId(station, 'water_temperature', observedAt),
          site_id: pixel.siteId,
          station_id: station,
          parameter: 'water_temperature',
          value: Math.round((sst[t * buoys.length + p] as number) * 1000) / 1000,
          unit: READING_UNITS.water_temperature,
          observed_at: observedAt,
          lat: pixel.lat,
          lon: pixel.lon,
          source: 'replay',
        };
        await publisher.publish(
          natsSubjects.reading(pixel.siteId),
          JSON.stringify(reading),
          reading.id,
        );
        sent += 1;
      }
    }
    console.log(`${sent} buoy readings published on ${natsSubjects.reading('{site}')}`);
  } finally {
    await nc.close();
  }
}
