import { ValidationError } from '../errors.js';
import { type CrwGridOptions, createCrwGridUpdater } from './crw-grid.js';
import {
  type CrwDayOutput,
  checkCrwStep,
  createCrwDayOutput,
  createCrwState,
  crwStateData,
  sharedArray,
} from './crw-state.js';
import { stepCrwRows } from './crw-step.js';

/** Time-major SST of one point, many sites or a (time, lat, lon) grid flattened per day. */
export interface HeatStressInput {
  /** Whole days since 1970-01-01 UTC of each row, strictly increasing (gaps allowed). */
  days: Int32Array;
  /** SST of row t, pixel p at `t * pixels + p` (degC or Kelvin; NaN = missing). */
  sstC: Float32Array | Float64Array;
  pixels: number;
  /** Maximum Monthly Mean climatology per pixel, degC. */
  mmmC: Float32Array | Float64Array;
}

/** The CRW products of every row, laid out like the input. */
export type HeatStressSeries = CrwDayOutput;

/**
 * Whole-series CRW heat stress (HotSpot, DHW, alert level and its 7-day maximum) for one point
 * or many sites / grids: the incremental `stepCrwDay` run over the rows, so the batch and the
 * streaming results are the same numbers. Memory beyond the outputs: the state, 184 bytes per
 * pixel with an MMM. On the calling thread; `computeHeatStressInParallel` uses every core.
 */
export function computeHeatStress(input: HeatStressInput): HeatStressSeries {
  checkShape(input);
  const series = createCrwDayOutput(input.pixels, { days: input.days.length });
  const s = crwStateData(createCrwState(input.mmmC));
  checkCrwStep(s, input.days, input.sstC.length, series);
  stepCrwRows(s, input.days, s.day, input.sstC, series, 0, s.pixels);
  return series;
}

function checkShape({ days, sstC, pixels, mmmC }: HeatStressInput): void {
  if (mmmC.length !== pixels || sstC.length !== days.length * pixels) {
    throw new ValidationError(
      `heat stress input: ${sstC.length} SST values, ${days.length} days, ${pixels} pixels and ${mmmC.length} MMM values do not fit (want days x pixels SST, pixels MMM)`,
      'heat-stress-shape',
    );
  }
}

/**
 * `computeHeatStress` on worker threads, each owning a range of pixels over every day (one
 * message per thread for the whole series): the same numbers, about `threads` times faster on
 * large grids. Outputs are on SharedArrayBuffers; SST not already there is copied once.
 */
export async function computeHeatStressInParallel(
  input: HeatStressInput,
  options: CrwGridOptions = {},
): Promise<HeatStressSeries> {
  checkShape(input);
  const series = createCrwDayOutput(input.pixels, { days: input.days.length, shared: true });
  let sstC = input.sstC;
  if (!(sstC.buffer instanceof SharedArrayBuffer)) {
    sstC =
      sstC instanceof Float32Array
        ? sharedArray(Float32Array, sstC.length)
        : sharedArray(Float64Array, sstC.length);
    sstC.set(input.sstC);
  }
  // One message per thread for the whole series: a thread pays off from far fewer pixels.
  const minPixelsPerThread = input.days.length >= 365 ? 1_024 : undefined;
  const updater = createCrwGridUpdater(createCrwState(input.mmmC), {
    ...(minPixelsPerThread ? { minPixelsPerThread } : {}),
    ...options,
  });
  try {
    await updater.stepDays(input.days, sstC, series);
  } finally {
    await updater.close();
  }
  return series;
}
