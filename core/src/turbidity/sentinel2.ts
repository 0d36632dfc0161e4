import { ValidationError } from '../errors.js';

/** L2A digital numbers are reflectance x 10 000. */
export const SENTINEL2_QUANTIFICATION_VALUE = 10_000;
/** BOA_ADD_OFFSET of processing baseline 04.00 and later (25 January 2022 on); 0 before. */
export const SENTINEL2_BOA_ADD_OFFSET_PB04 = -1000;
/** DN 0 is L2A nodata. */
export const SENTINEL2_NODATA_DN = 0;

/**
 * BOA_ADD_OFFSET of a processing baseline such as "04.00" or "02.12": -1000 from 04.00, else 0
 * (ESA Sentinel-2 L2A product specification, baseline 04.00 change note).
 */
export function sentinel2BoaAddOffset(processingBaseline: string): number {
  const version = Number.parseFloat(processingBaseline);
  if (!Number.isFinite(version)) {
    throw new ValidationError(
      `Sentinel-2 processing baseline "${processingBaseline}" is not like "04.00"`,
      'sentinel2-baseline',
    );
  }
  return version >= 4 ? SENTINEL2_BOA_ADD_OFFSET_PB04 : 0;
}

/** The BOA_ADD_OFFSET of a Sentinel-2 L2A STAC Item, from `s2:processing_baseline`. */
export function sentinel2BoaAddOffsetOfItem(item: {
  properties?: Record<string, unknown>;
}): number {
  const baseline = item.properties?.['s2:processing_baseline'];
  if (typeof baseline !== 'string') {
    throw new ValidationError(
      'STAC item has no s2:processing_baseline; pass the BOA_ADD_OFFSET from the product metadata',
      'sentinel2-baseline',
    );
  }
  return sentinel2BoaAddOffset(baseline);
}

/**
 * Bottom-of-atmosphere reflectance (dimensionless) of an L2A DN:
 * rho = (DN + BOA_ADD_OFFSET) / 10000; DN 0 (nodata) gives NaN.
 */
export function sentinel2Reflectance(dn: number, boaAddOffset: number): number {
  return dn === SENTINEL2_NODATA_DN || Number.isNaN(dn)
    ? Number.NaN
    : (dn + boaAddOffset) / SENTINEL2_QUANTIFICATION_VALUE;
}

/**
 * Water-leaving reflectance rho_w (= pi x Rrs, dimensionless) from L2A BOA reflectance, with the
 * SWIR (B11 or B12) reflectance subtracted as the sun/sky-glint estimate: water absorbs SWIR,
 * so what SWIR sees over water is surface reflection (the "SWIR subtraction" of Wang & Shi 2007).
 * Negative results are clipped to 0; pass swir = 0 to skip the correction.
 */
export function waterLeavingReflectance(rhoBoa: number, rhoSwir = 0): number {
  return Math.max(rhoBoa - (Number.isNaN(rhoSwir) ? 0 : rhoSwir), 0);
}
