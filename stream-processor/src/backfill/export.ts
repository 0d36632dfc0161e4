import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { DuckDBInstance } from '@duckdb/node-api';
import {
  type ChipSpec,
  DEFAULT_CHIP_SPEC,
  FEATURE_SET_VERSION,
  SCHEMA_VERSION,
  TRAINING_SET_FILES,
  type TrainingSetManifest,
  trainingSetManifestSchema,
} from '@reefguard/core';
import { parseGbrAerial } from './gbr-aerial.js';
import { type GbrContext, hashFile, loadGbrContext, type SourceFile } from './gbr-context.js';
import { parseGcbd } from './gcbd.js';
import type { Observation, QuarantinedRow } from './observation.js';
import { readObservationTable } from './observation-file.js';
import { buildTrainingRows, type TrainingRows } from './training-rows.js';
import {
  hashContents,
  writeChips,
  writeQuarantine,
  writeTrainingTable,
} from './training-set-writer.js';

/** The shipped observation files, used by `features export --sample-data`. */
export const SAMPLE_OBSERVATION_FILES = [
  'gbr_aerial_bleaching_1998_2002.parquet',
  'gcbd_reefcheck_1998_2015.parquet',
] as const;

export const TRAINING_SET_LABEL =
  'label: moderate-or-worse bleaching (GBR aerial category >= 2; GCBD Average_Bleaching >= 10 %)';

/** How the yearly and survey products map onto the daily feature names (also in the README). */
export const FEATURE_MAPPING_NOTES = [
  'GBR aerial rows: as_of = 30 April of the event year (surveys flown February-April); dhw_max_ytd = CRW annMaxDHW of the year (GBR heat stress peaks in February-March, so the annual maximum is the documented proxy of the year-to-date maximum at survey time); dhw_prev_year_max = annMaxDHW of the previous year; cyclone_exposure_h = Hs4MW of the year (mostly January-April cyclone season); statics from gbr_environmental (MT_SST_AV, MT_SST_SR, SW_K490_AV, -GBR_BATHY clipped at 0). Daily features (dhw, hotspot, sst_*) are null: no daily product is shipped for past years.',
  'GCBD rows: as_of = survey date; CoRTAD values of the survey week only: dhw = dhw_max_ytd = TSA_DHW (degC-weeks, CoRTAD weekly construction; lower bound of the year-to-date maximum), hotspot = max(TSA, 0), mmm = Temperature_Kelvin - TSA - 273.15 (maximum weekly, not monthly, climatology), sst_daily_mean = Temperature_Kelvin - 273.15 (weekly SST), sst_anomaly = SSTA, sst_clim_mean = ClimSST - 273.15, depth_m = Depth, wind_speed_ms = Windspeed. Record-wide statistics (*_Maximum, *_Mean, *_DHWMax, *_Frequency*) are not used: they include years after the survey.',
  'Chips: GBR rows are rasterised from the 15,928-pixel GBR table of the event year; GCBD rows have no neighbouring grid: each channel is the site value broadcast over the window and reef_mask is 1 only at the centre pixel.',
];

export interface BuildOptions {
  readonly observationPaths: readonly string[];
  /** Folder with the GBR context tables (data/sample). */
  readonly dataDir: string;
  readonly chipSpec?: ChipSpec;
  /** The GBR context already loaded from `dataDir`, to reuse it across builds. */
  readonly context?: GbrContext;
}

export interface BuiltTrainingSet extends TrainingRows {
  readonly quarantined: readonly QuarantinedRow[];
  readonly skipped: Readonly<Record<string, number>>;
  readonly adjusted: Readonly<Record<string, number>>;
  readonly sources: readonly SourceFile[];
}

/**
 * Reads observation files and joins them point-in-time with features and chips from the
 * product's own data. The one code path behind both `features export` and `evaluate`.
 */
export async function buildTrainingSet(options: BuildOptions): Promise<BuiltTrainingSet> {
  const instance = await DuckDBInstance.create(':memory:', { threads: '1' });
  const connection = await instance.connect();
  try {
    return await buildWith(connection, options);
  } finally {
    connection.closeSync();
    instance.closeSync();
  }
}

async function buildWith(
  connection: Awaited<ReturnType<DuckDBInstance['connect']>>,
  options: BuildOptions,
): Promise<BuiltTrainingSet> {
  const tables = [];
  for (const path of options.observationPaths)
    tables.push(await readObservationTable(connection, path));
  const needsGbr = tables.some((t) => t.source === 'gbr-aerial');
  const context = needsGbr
    ? (options.context ?? (await loadGbrContext(connection, options.dataDir)))
    : undefined;
  const observations: Observation[] = [];
  const quarantined: QuarantinedRow[] = [];
  const skipped: Record<string, number> = {};
  const adjusted: Record<string, number> = {};
  const add = (into: Record<string, number>, counts: Record<string, number>) => {
    for (const [reason, count] of Object.entries(counts))
      into[reason] = (into[reason] ?? 0) + count;
  };
  for (const table of tables) {
    const parsed =
      table.source === 'gbr-aerial' && context ? parseGbrAerial(table, context) : parseGcbd(table);
    observations.push(...parsed.observations);
    quarantined.push(...parsed.quarantined);
    add(skipped, parsed.skipped);
    add(adjusted, parsed.adjusted);
  }
  const set = buildTrainingRows(observations, context, options.chipSpec ?? DEFAULT_CHIP_SPEC);
  const sources: SourceFile[] = [];
  for (const table of tables) {
    sources.push({
      path: table.path,
      sha256: await hashFile(table.path),
      format: `${table.source}-${table.format}`,
    });
  }
  sources.push(...(context?.sources ?? []));
  return {
    ...set,
    quarantined: [...quarantined, ...set.quarantined],
    skipped,
    adjusted,
    sources,
  };
}

export interface ExportOptions extends BuildOptions {
  readonly outDir: string;
  /** Clock for `created_at`; injectable so tests can pin it. */
  readonly now?: () => Date;
}

/**
 * `features export`: writes training-set.parquet, chips.arrow, quarantine.parquet and a
 * validated manifest.json to `outDir`. Same inputs give byte-identical data files and the same
 * data_version; re-running keeps the existing manifest (and its created_at) when the data
 * version is unchanged.
 */
export async function exportTrainingSet(options: ExportOptions): Promise<TrainingSetManifest> {
  await mkdir(options.outDir, { recursive: true });
  const instance = await DuckDBInstance.create(':memory:', { threads: '1' });
  const connection = await instance.connect();
  try {
    const set = await buildWith(connection, options);
    const tablePath = await writeTrainingTable(connection, set, options.outDir);
    const chipsPath = await writeChips(set, options.outDir);
    await writeQuarantine(connection, set.quarantined, options.outDir);
    const dataVersion = await hashContents([tablePath, chipsPath]);
    const manifestPath = join(options.outDir, TRAINING_SET_FILES.manifest);
    const previous = await readFile(manifestPath, 'utf8')
      .then((text) => trainingSetManifestSchema.safeParse(JSON.parse(text)))
      .catch(() => undefined);
    if (previous?.success && previous.data.data_version === dataVersion) return previous.data;

    const events = new Map<string, { rows: number; positives: number }>();
    for (const row of set.rows) {
      const entry = events.get(row.event) ?? { rows: 0, positives: 0 };
      entry.rows++;
      entry.positives += row.label;
      events.set(row.event, entry);
    }
    const manifest = trainingSetManifestSchema.parse({
      schema_version: SCHEMA_VERSION,
      data_version: dataVersion,
      feature_set_version: FEATURE_SET_VERSION,
      created_at: (options.now ?? (() => new Date()))().toISOString(),
      rows: set.rows.length,
      positives: set.rows.reduce((sum, row) => sum + row.label, 0),
      events: [...events].map(([event, counts]) => ({ event, ...counts })),
      features: [...set.featureNames],
      label: TRAINING_SET_LABEL,
      chip: {
        channels: [...set.chipSpec.channels],
        size_px: set.chipSpec.sizePx,
        pixel_deg: set.chipSpec.pixelDeg,
      },
      sources: set.sources,
      notes: [
        ...FEATURE_MAPPING_NOTES,
        `quarantined rows: ${set.quarantined.length} (see quarantine.parquet)`,
        ...Object.entries({ ...set.skipped, ...set.adjusted }).map(
          ([reason, count]) => `count ${reason}: ${count}`,
        ),
      ],
    });
    await writeFile(manifestPath, `${JSON.stringify(manifest, null, 2)}\n`);
    return manifest;
  } finally {
    connection.closeSync();
    instance.closeSync();
  }
}
