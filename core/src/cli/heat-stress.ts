import { readFile, writeFile } from 'node:fs/promises';
import { parseArgs } from 'node:util';
import { ALERT_LEVEL_MISSING } from '../crw/alert-level.js';
import { computeHeatStressInParallel, type HeatStressSeries } from '../crw/heat-stress.js';
import { measureNoaaAgreement, type NoaaAgreement } from '../crw/noaa-agreement.js';
import { ConfigError } from '../errors.js';
import { readClimatologyGeotiff } from '../formats/climatology-geotiff.js';
import { readSstInput, type SstInput } from '../formats/sst-input.js';
import { isoDateOf, type SstSeries } from '../formats/sst-series.js';

const USAGE =
  'usage: reefguard heat-stress --sst PATH [--mmm VALUE | --climatology PATH] --out PATH.csv [--report]';

/** MMM per pixel of the series, and the pixels that have one. */
async function mmmFor(
  input: SstInput,
  mmm: string | undefined,
  climatology: string | undefined,
): Promise<Float64Array> {
  const { series } = input;
  if (mmm !== undefined) {
    const value = Number(mmm);
    if (!Number.isFinite(value)) throw new ConfigError(`--mmm "${mmm}" is not a number (degC)`);
    return new Float64Array(series.pixels).fill(value);
  }
  if (climatology !== undefined) {
    const raster = await readClimatologyGeotiff(await readFile(climatology));
    return Float64Array.from(series.latDeg, (lat, p) => {
      const pixel = raster.pixelAt(lat, series.lonDeg[p]!);
      return pixel < 0 ? Number.NaN : raster.mmmC[pixel]!;
    });
  }
  if (input.mmmC !== undefined) return new Float64Array(series.pixels).fill(input.mmmC);
  throw new ConfigError(
    `heat-stress needs the MMM climatology: give --mmm or --climatology\n${USAGE}`,
  );
}

/** Keeps only the pixels listed, in order (rows stay time-major). */
function selectPixels<T extends Float64Array | ArrayLike<number>>(
  values: T,
  pixels: number,
  keep: number[],
): Float64Array {
  const rows = values.length / pixels;
  const out = new Float64Array(rows * keep.length);
  for (let t = 0; t < rows; t++) {
    keep.forEach((p, k) => {
      out[t * keep.length + k] = values[t * pixels + p]!;
    });
  }
  return out;
}

function toCsv(series: SstSeries, result: HeatStressSeries): string {
  const located = series.latDeg.some((v) => !Number.isNaN(v));
  const lines = [`date,${located ? 'lat,lon,' : ''}sst,hotspot,dhw,alert_level,alert_level_7d_max`];
  const level = (v: number) => (v === ALERT_LEVEL_MISSING ? '' : String(v));
  const number = (v: number, digits: number) => (Number.isNaN(v) ? '' : v.toFixed(digits));
  for (let t = 0; t < series.days.length; t++) {
    const date = isoDateOf(series.days[t]!);
    for (let p = 0; p < series.pixels; p++) {
      const i = t * series.pixels + p;
      const where = located
        ? `${number(series.latDeg[p]!, 4)},${number(series.lonDeg[p]!, 4)},`
        : '';
      lines.push(
        `${date},${where}${number(series.sstC[i]!, 2)},${number(result.hotspot[i]!, 2)},${number(result.dhw[i]!, 2)},${level(result.alertLevel[i]!)},${level(result.alertLevel7dMax[i]!)}`,
      );
    }
  }
  return `${lines.join('\n')}\n`;
}

const percent = (matching: number, compared: number) =>
  `${matching} / ${compared}  ${((100 * matching) / compared).toFixed(3)} %`;

function printAgreement(a: NoaaAgreement): void {
  console.log("agreement with NOAA's own values in the file:");
  console.log(
    `  HotSpot = max(CRW_HOTSPOT, 0)            ${percent(a.hotspot.matching, a.hotspot.compared)}`,
  );
  console.log(
    `  DHW within 0.01, full 84-day window      ${percent(a.dhwFullWindow.matching, a.dhwFullWindow.compared)} (largest difference ${a.maxDhwDifferenceFullWindow.toFixed(4)})`,
  );
  console.log(
    `  DHW within 0.01, every day               ${percent(a.dhwAllDays.matching, a.dhwAllDays.compared)}`,
  );
  console.log(
    `  alert level = CRW_BAA                    ${percent(a.alertLevel.matching, a.alertLevel.compared)}`,
  );
  console.log(
    `  7-day max = CRW_BAA_7D_MAX               ${percent(a.alertLevel7dMax.matching, a.alertLevel7dMax.compared)}`,
  );
  const reasons = new Map<string, number>();
  for (const m of a.mismatches) {
    const key = `${m.product}: ${m.reason}`;
    reasons.set(key, (reasons.get(key) ?? 0) + 1);
  }
  if (reasons.size === 0) console.log('  mismatches: none');
  for (const [reason, n] of reasons) console.log(`  mismatches, ${reason}: ${n}`);
}

/** `reefguard heat-stress`: NOAA CRW HotSpot, DHW and alert levels from an SST file. */
export async function run(args: string[]): Promise<number> {
  const { values } = parseArgs({
    args,
    options: {
      sst: { type: 'string' },
      mmm: { type: 'string' },
      climatology: { type: 'string' },
      out: { type: 'string' },
      report: { type: 'boolean', default: false },
      help: { type: 'boolean', default: false },
    },
  });
  if (values.help) {
    console.log(
      `${USAGE}\n\nSST from a CSV (date, sst[, lat, lon]), a NetCDF-3 or NetCDF-4 file with an SST variable, or a NOAA CRW\nvirtual-station text file; MMM from --mmm, a 12-band monthly climatology GeoTIFF, or the\nvirtual-station header (a station's SST is that of its 90th-percentile HotSpot pixel, so\nwith the polygon's averaged MMM it approximates the station's own DHW column). --report\ncompares with the CRW values the file carries.`,
    );
    return 0;
  }
  if (values.sst === undefined || values.out === undefined) throw new ConfigError(USAGE);
  if (values.mmm !== undefined && values.climatology !== undefined) {
    throw new ConfigError(`give --mmm or --climatology, not both\n${USAGE}`);
  }
  const input = await readSstInput(await readFile(values.sst));
  const mmm = await mmmFor(input, values.mmm, values.climatology);
  const keep = Array.from(mmm.keys()).filter((p) => !Number.isNaN(mmm[p]!));
  if (keep.length === 0) {
    throw new ConfigError('no pixel of the SST file lies inside the climatology raster');
  }
  const all = input.series.pixels;
  const series: SstSeries =
    keep.length === all
      ? input.series
      : {
          days: input.series.days,
          sstC: selectPixels(input.series.sstC, all, keep),
          pixels: keep.length,
          latDeg: Float64Array.from(keep, (p) => input.series.latDeg[p]!),
          lonDeg: Float64Array.from(keep, (p) => input.series.lonDeg[p]!),
        };
  const mmmC = Float64Array.from(keep, (p) => mmm[p]!);
  // Large grids use every core; a point or a few sites stay on this thread.
  const result = await computeHeatStressInParallel({
    days: series.days,
    sstC: series.sstC,
    pixels: series.pixels,
    mmmC,
  });
  await writeFile(values.out, toCsv(series, result));
  const first = isoDateOf(series.days[0]!);
  const last = isoDateOf(series.days.at(-1)!);
  const mmmText = [...new Set(Array.from(mmmC, (v) => v.toFixed(2)))].join(', ');
  console.log(
    `heat-stress: ${input.format}, ${series.days.length} days x ${series.pixels} pixel(s) ${first}..${last}${keep.length < all ? ` (${keep.length} of ${all} pixels inside the climatology)` : ''}, MMM ${mmmText} degC -> ${values.out}`,
  );
  if (values.report) {
    if (input.noaa === undefined) {
      console.log('no NOAA CRW values in this file to compare with');
    } else {
      const noaa = input.noaa;
      const pick = (v: ArrayLike<number>) => (keep.length === all ? v : selectPixels(v, all, keep));
      printAgreement(
        measureNoaaAgreement(series.days, series.pixels, result, {
          hotspot: pick(noaa.hotspot),
          dhw: pick(noaa.dhw),
          alertLevel: pick(noaa.alertLevel),
          alertLevel7dMax: pick(noaa.alertLevel7dMax),
        }),
      );
    }
  }
  return 0;
}
