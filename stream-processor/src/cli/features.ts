import { mkdir, writeFile } from 'node:fs/promises';
import { dirname, isAbsolute, join, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { commonSettings, loadConfig, ReefGuardError } from '@reefguard/core';
import { workspaceRoot } from '@reefguard/core/cli/workspace';
import { z } from 'zod';
import { exportTrainingSet, SAMPLE_OBSERVATION_FILES } from '../backfill/index.js';
import { connectRedis } from '../connections.js';
import { computeContextFeatures, writeContextFeatures } from '../context-features.js';

const USAGE = `usage: ./reefguard features export [--observations PATH]... [--sample-data] [--out DIR] [--data-dir DIR]
       ./reefguard features context [--year YYYY] [--data-dir DIR] [--batch N] [--chip-layers-out FILE]

Joins observation files (GBR aerial bleach_YYYY tables or GCBD survey rows, CSV or Parquet)
point-in-time with features and chips built from the product's own data, and writes the
training-set directory (training-set.parquet, chips.arrow, quarantine.parquet, manifest.json).

  --observations PATH  an observation file; repeat for several
  --sample-data        add the shipped observation files (data/sample)
  --out DIR            output folder (default $REEFGUARD_STATE_DIR/training-set)
  --data-dir DIR       the product's GBR context tables (default data/sample)

context: writes the slow features (static, and yearly for --year, default the current year)
of every GBR site (pixel-<id> and reef ids) to the online store's reefguard:context:{site}
hashes in Redis (REEFGUARD_REDIS_URL), from the same tables and code as the training set.

  --year YYYY          the year of the yearly features (dhw_prev_year_max is year-1's)
  --batch N            sites per Redis round trip (default 500)
  --chip-layers-out FILE  also write serving's chip layers file (REEFGUARD_CHIP_LAYERS_FILE)
                       for the year: the gridded layers the training set cuts ViT chips from`;

const settings = {
  STATE_DIR: z.string().min(1).default('.reefguard'),
};

/** `./reefguard features export`. */
export async function run(args: string[]): Promise<number> {
  const [subcommand, ...rest] = args;
  if (subcommand === 'context') return runContext(rest);
  if (subcommand !== 'export') {
    console.error(USAGE);
    return 2;
  }
  const { values } = parseArgs({
    args: rest,
    options: {
      observations: { type: 'string', multiple: true, default: [] },
      'sample-data': { type: 'boolean', default: false },
      out: { type: 'string' },
      'data-dir': { type: 'string' },
    },
  });
  const config = loadConfig(settings, process.env);
  const root = workspaceRoot();
  const dataDir = values['data-dir'] ?? join(root, 'data', 'sample');
  const observationPaths = [
    ...values.observations,
    ...(values['sample-data'] ? SAMPLE_OBSERVATION_FILES.map((f) => join(dataDir, f)) : []),
  ];
  if (observationPaths.length === 0) {
    console.error(`give --observations PATH or --sample-data\n\n${USAGE}`);
    return 2;
  }
  const stateDir = isAbsolute(config.STATE_DIR) ? config.STATE_DIR : resolve(config.STATE_DIR);
  const outDir = values.out ?? join(stateDir, 'training-set');
  try {
    const started = performance.now();
    const manifest = await exportTrainingSet({ observationPaths, dataDir, outDir });
    const seconds = ((performance.now() - started) / 1000).toFixed(1);
    console.log(`training set ${manifest.data_version} in ${outDir} (${seconds} s)`);
    console.log(`rows ${manifest.rows}, positives ${manifest.positives}`);
    for (const event of manifest.events) {
      console.log(
        `  ${event.event.padEnd(10)} rows ${String(event.rows).padStart(6)}  positives ${event.positives}`,
      );
    }
    for (const note of manifest.notes.filter((n) => /^(quarantined|count)/.test(n)))
      console.log(note);
    return 0;
  } catch (error) {
    if (error instanceof ReefGuardError) {
      console.error(`${error.name}: ${error.message}`);
      return 1;
    }
    throw error;
  }
}

const contextSettings = { REDIS_URL: commonSettings.REDIS_URL };

/** `./reefguard features context`. */
async function runContext(args: string[]): Promise<number> {
  const { values } = parseArgs({
    args,
    options: {
      year: { type: 'string' },
      'data-dir': { type: 'string' },
      batch: { type: 'string', default: '500' },
      'chip-layers-out': { type: 'string' },
    },
  });
  if (values.year !== undefined && !/^\d{4}$/.test(values.year)) {
    console.error(`--year must be a four-digit year, got "${values.year}"\n\n${USAGE}`);
    return 2;
  }
  const year = values.year === undefined ? new Date().getUTCFullYear() : Number(values.year);
  const batchSize = Number(values.batch);
  if (!Number.isInteger(batchSize) || batchSize < 1) {
    console.error(`--batch must be a positive integer, got "${values.batch}"\n\n${USAGE}`);
    return 2;
  }
  const config = loadConfig(contextSettings, process.env);
  const dataDir = values['data-dir'] ?? join(workspaceRoot(), 'data', 'sample');
  try {
    const started = performance.now();
    const features = await computeContextFeatures({ dataDir, year });
    console.log(
      `context features of ${features.sites.length} GBR sites for ${year} (data ${features.dataVersion})`,
    );
    for (const { feature, reason } of features.absent)
      console.log(`  absent  ${feature}: ${reason}; serving names it missing`);
    for (const { feature, reason } of features.unknown)
      console.log(`  unknown ${feature}: ${reason}; stored as NaN`);
    const redis = await connectRedis(config.REDIS_URL);
    try {
      let reported = 0;
      const written = await writeContextFeatures(redis, features, {
        batchSize,
        onProgress: (done, total) => {
          if (done === total || done - reported >= 2000) {
            reported = done;
            console.log(`  ${done}/${total} sites written`);
          }
        },
      });
      const seconds = ((performance.now() - started) / 1000).toFixed(1);
      console.log(`wrote ${written} reefguard:context:{site} hashes (no TTL) in ${seconds} s`);
      const chipOut = values['chip-layers-out'];
      if (chipOut) {
        await mkdir(dirname(resolve(chipOut)), { recursive: true });
        await writeFile(chipOut, JSON.stringify(features.chipLayers));
        const { columns, rows } = features.chipLayers;
        console.log(
          `chip layers of ${rows.length} pixels (${columns.slice(1).join(', ')}) -> ${chipOut}`,
        );
      }
    } finally {
      await redis.quit();
    }
    return 0;
  } catch (error) {
    if (error instanceof ReefGuardError) {
      console.error(`${error.name}: ${error.message}`);
      return 1;
    }
    if (error instanceof RangeError) {
      console.error(error.message);
      return 2;
    }
    throw error;
  }
}
