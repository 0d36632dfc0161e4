/** 0 degC in Kelvin. */
export const KELVIN_OFFSET = 273.15;
/**
 * SST values above this are taken to be Kelvin: no sea surface in degC reaches 100, and no
 * liquid sea surface in Kelvin is below 271.
 */
export const KELVIN_DETECT_THRESHOLD = 100;
/** SST outside [SST_VALID_MIN_C, SST_VALID_MAX_C] after conversion is a fill value, not water. */
export const SST_VALID_MIN_C = -3;
export const SST_VALID_MAX_C = 45;

/**
 * SST in degC from degC or Kelvin: `v > 100 ? v - 273.15 : v`. Physically impossible values
 * (fill values such as -327.68, -999 or 9.97e36) become NaN.
 */
export function toCelsius(sst: number): number {
  const c = sst > KELVIN_DETECT_THRESHOLD ? sst - KELVIN_OFFSET : sst;
  return c >= SST_VALID_MIN_C && c <= SST_VALID_MAX_C ? c : Number.NaN;
}

/** `toCelsius` over an array, into `out` (a new Float64Array by default). */
export function toCelsiusArray(
  sst: ArrayLike<number>,
  out: Float32Array | Float64Array = new Float64Array(sst.length),
): Float32Array | Float64Array {
  for (let i = 0; i < sst.length; i++) out[i] = toCelsius(sst[i] as number);
  return out;
}
