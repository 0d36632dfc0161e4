import { ValidationError } from '../errors.js';
import { type CrwDayOutput, createCrwState, stepCrwDay } from './crw-state.js';

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
 * streaming results are the same numbers. Memory beyond the outputs: the state, 188 bytes a pixel.
 */
export function computeHeatStress(input: HeatStressInput): HeatStressSeries {
  const { days, sstC, pixels, mmmC } = input;
  if (mmmC.length !== pixels || sstC.length !== days.length * pixels) {
    throw new ValidationError(
      `heat stress input: ${sstC.length} SST values, ${days.length} days, ${pixels} pixels and ${mmmC.length} MMM values do not fit (want days x pixels SST, pixels MMM)`,
      'heat-stress-shape',
    );
  }
  const n = days.length * pixels;
  const series: HeatStressSeries = {
    hotspot: new Float32Array(n),
    dhw: new Float32Array(n),
    alertLevel: new Uint8Array(n),
    alertLevel7dMax: new Uint8Array(n),
  };
  const state = createCrwState(mmmC);
  for (let t = 0; t < days.length; t++) {
    const from = t * pixels;
    const to = from + pixels;
    stepCrwDay(state, days[t]!, sstC.subarray(from, to), {
      hotspot: series.hotspot.subarray(from, to),
      dhw: series.dhw.subarray(from, to),
      alertLevel: series.alertLevel.subarray(from, to),
      alertLevel7dMax: series.alertLevel7dMax.subarray(from, to),
    });
  }
  return series;
}
