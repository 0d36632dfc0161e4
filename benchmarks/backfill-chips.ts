/**
 * ViT chips for every GBR reef pixel (15,928 sites, 6 x 16 x 16 at 0.02 degrees) cut from the
 * hash-indexed raster of core/src/chips, against the obvious baseline that scans every pixel
 * of the reef table for each chip. Both outputs are compared value by value. Then the whole
 * `features export --sample-data` (both shipped observation files) is timed.
 * Goal: 16k sites in seconds.
 *
 *   node_modules/.bin/tsx benchmarks/backfill-chips.ts
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import {
  chipLength,
  createChipRaster,
  DEFAULT_CHIP_SPEC,
  REEF_MASK_CHANNEL,
} from '@reefguard/core';
import {
  exportTrainingSet,
  gbrFeatureLayers,
  openGbrContext,
  SAMPLE_OBSERVATION_FILES,
} from '../stream-processor/src/backfill/index.js';

const ROOT = resolve(import.meta.dirname, '..');
const DATA_DIR = join(ROOT, 'data', 'sample');
const YEAR = 2002;

const context = await openGbrContext(DATA_DIR);
const layers = gbrFeatureLayers(context, YEAR) as Record<string, Float64Array>;
const spec = DEFAULT_CHIP_SPEC;
const size = chipLength(spec);
const n = context.pixels;

let started = performance.now();
const raster = createChipRaster(
  { lonDeg: context.lonDeg, latDeg: context.latDeg, values: layers },
  spec,
);
const ours = new Float32Array(n * size);
for (let i = 0; i < n; i++) {
  raster.chipAt(
    context.lonDeg[i] as number,
    context.latDeg[i] as number,
    ours.subarray(i * size, (i + 1) * size),
  );
}
const oursMs = performance.now() - started;

// Baseline: for each chip, scan all pixels, keep those inside the window, average per cell.
started = performance.now();
const baseline = new Float32Array(n * size);
const side = spec.sizePx;
const half = side / 2;
const cell = (deg: number) => Math.floor(deg / spec.pixelDeg + 1e-9);
const sums = new Float64Array(size);
const counts = new Float64Array(size);
for (let i = 0; i < n; i++) {
  sums.fill(0);
  counts.fill(0);
  const cx = cell(context.lonDeg[i] as number);
  const cy = cell(context.latDeg[i] as number);
  for (let j = 0; j < n; j++) {
    const col = cell(context.lonDeg[j] as number) - cx + half;
    const row = cy + half - cell(context.latDeg[j] as number);
    if (col < 0 || col >= side || row < 0 || row >= side) continue;
    spec.channels.forEach((channel, c) => {
      const value = channel === REEF_MASK_CHANNEL ? 1 : (layers[channel]?.[j] as number);
      if (Number.isFinite(value)) {
        const slot = c * side * side + row * side + col;
        sums[slot] = (sums[slot] as number) + value;
        counts[slot] = (counts[slot] as number) + 1;
      }
    });
  }
  for (let k = 0; k < size; k++) {
    const mask =
      (counts[(spec.channels.length - 1) * side * side + (k % (side * side))] as number) > 0;
    const value = (counts[k] as number) > 0 ? (sums[k] as number) / (counts[k] as number) : 0;
    baseline[i * size + k] = k >= (spec.channels.length - 1) * side * side ? (mask ? 1 : 0) : value;
  }
}
const baselineMs = performance.now() - started;
let maxDifference = 0;
for (let k = 0; k < ours.length; k++) {
  maxDifference = Math.max(maxDifference, Math.abs((ours[k] as number) - (baseline[k] as number)));
}

const outDir = await mkdtemp(join(tmpdir(), 'reefguard-bench-export-'));
started = performance.now();
const manifest = await exportTrainingSet({
  observationPaths: SAMPLE_OBSERVATION_FILES.map((f) => join(DATA_DIR, f)),
  dataDir: DATA_DIR,
  outDir,
});
const exportMs = performance.now() - started;
await rm(outDir, { recursive: true, force: true });

console.log(
  `chips for ${n} GBR sites (${spec.channels.length} x ${side} x ${side}, ${spec.pixelDeg} deg)`,
);
console.log(`  indexed raster (ours)   ${(oursMs / 1000).toFixed(2)} s`);
console.log(`  full scan per chip      ${(baselineMs / 1000).toFixed(2)} s`);
console.log(
  `  speed-up                ${(baselineMs / oursMs).toFixed(0)}x   (max |difference| ${maxDifference})`,
);
console.log(
  `features export --sample-data: ${manifest.rows} rows in ${(exportMs / 1000).toFixed(1)} s`,
);
