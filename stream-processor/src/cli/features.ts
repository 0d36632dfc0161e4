import { isAbsolute, join, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { loadConfig, ReefGuardError } from '@reefguard/core';
import { workspaceRoot } from '@reefguard/core/cli/workspace';
import { z } from 'zod';
import { exportTrainingSet, SAMPLE_OBSERVATION_FILES } from '../backfill/index.js';

const USAGE = `usage: ./reefguard features export [--observations PATH]... [--sample-data] [--out DIR] [--data-dir DIR]

Joins observation files (GBR aerial bleach_YYYY tables or GCBD survey rows, CSV or Parquet)
point-in-time with features and chips built from the product's own data, and writes the
training-set directory (training-set.parquet, chips.arrow, quarantine.parquet, manifest.json).

  --observations PATH  an observation file; repeat for several
  --sample-data        add the shipped observation files (data/sample)
  --out DIR            output folder (default $REEFGUARD_STATE_DIR/training-set)
  --data-dir DIR       the product's GBR context tables (default data/sample)`;

const settings = {
  STATE_DIR: z.string().min(1).default('.reefguard'),
};

/** `./reefguard features export`. */
export async function run(args: string[]): Promise<number> {
  const [subcommand, ...rest] = args;
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
