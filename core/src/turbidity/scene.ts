import { nechadTurbidity } from './nechad.js';
import { sentinel2Reflectance, waterLeavingReflectance } from './sentinel2.js';
import { computeWaterMask, WATER_MASK } from './water-mask.js';

/**
 * Below this B4 water-leaving reflectance the 665 nm band alone is used; above
 * {@link B5_SWITCH_HIGH} the 705 nm band alone; in between the two are blended linearly.
 * Dogliotti et al. (2015, Remote Sensing of Environment 156:157) switch 665 -> 865 nm at
 * 0.05-0.07; with Sentinel-2 we switch to B5 (Nechad 2016 coefficients), which saturates later.
 */
export const B4_SWITCH_LOW = 0.05;
export const B5_SWITCH_HIGH = 0.07;

/**
 * Turbidity (FNU) from B4 (665 nm) and B5 (705 nm) water-leaving reflectance with the
 * Dogliotti-style switch: T = (1 - w) T_B4 + w T_B5, w = clamp((rho_B4 - 0.05) / 0.02, 0, 1).
 * NaN when the band in use is saturated (rho_w >= C) or missing.
 */
export function nechadTurbidityB4B5(rhowB4: number, rhowB5: number): number {
  if (!(rhowB4 >= 0)) return Number.NaN;
  if (rhowB4 < B4_SWITCH_LOW) return nechadTurbidity(rhowB4, 'B4');
  const tB5 = nechadTurbidity(rhowB5, 'B5');
  if (rhowB4 > B5_SWITCH_HIGH) return tB5;
  const w = (rhowB4 - B4_SWITCH_LOW) / (B5_SWITCH_HIGH - B4_SWITCH_LOW);
  return (1 - w) * nechadTurbidity(rhowB4, 'B4') + w * tB5;
}

/** Sentinel-2 L2A digital numbers of one window, all on the same 20 m grid. */
export interface Sentinel2Window {
  b04: ArrayLike<number>;
  b05: ArrayLike<number>;
  /** SWIR 1.6 um (B11) for the glint correction. */
  b11: ArrayLike<number>;
  scl: ArrayLike<number>;
  /** BOA_ADD_OFFSET of the product's processing baseline (0 or -1000). */
  boaAddOffset: number;
}

/**
 * Per-pixel turbidity (FNU, NaN where masked) and mask code (WATER_MASK) of an L2A window:
 * SCL masking (nodata, cloud, cloud shadow, cirrus, land, snow), BOA reflectance with the
 * baseline's offset, SWIR-subtracted water-leaving reflectance, Nechad B4/B5 turbidity.
 */
export function computeSentinel2Turbidity(
  window: Sentinel2Window,
  out = {
    turbidity: new Float32Array(window.scl.length),
    mask: new Uint8Array(window.scl.length),
  },
) {
  const { b04, b05, b11, boaAddOffset } = window;
  computeWaterMask(window.scl, undefined, undefined, out.mask);
  for (let i = 0; i < out.mask.length; i++) {
    if (out.mask[i] !== WATER_MASK.water) {
      out.turbidity[i] = Number.NaN;
      continue;
    }
    const swir = sentinel2Reflectance(b11[i] as number, boaAddOffset);
    const rhowB4 = waterLeavingReflectance(
      sentinel2Reflectance(b04[i] as number, boaAddOffset),
      swir,
    );
    const rhowB5 = waterLeavingReflectance(
      sentinel2Reflectance(b05[i] as number, boaAddOffset),
      swir,
    );
    const t = nechadTurbidityB4B5(rhowB4, rhowB5);
    out.turbidity[i] = t;
    if (Number.isNaN(t)) out.mask[i] = WATER_MASK.noData;
  }
  return out;
}
