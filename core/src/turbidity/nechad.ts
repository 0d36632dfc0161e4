/**
 * Nechad et al. (2010, Remote Sensing of Environment 114:854) single-band turbidity
 * coefficients for Sentinel-2 MSI, from Nechad et al. 2016 / ACOLITE: A (FNU) and C.
 */
export const NECHAD_COEFFICIENTS = {
  B4: { aFnu: 366.14, c: 0.19563 },
  B5: { aFnu: 439.09, c: 0.18753 },
} as const;

export type NechadBand = keyof typeof NECHAD_COEFFICIENTS;

/**
 * Turbidity in FNU from water-leaving reflectance rho_w (dimensionless):
 * T = A * rho_w / (1 - rho_w / C) (Nechad et al. 2010). B4 (665 nm) for clear to moderate
 * water, B5 (705 nm) for turbid water. NaN when rho_w >= C (saturated) or rho_w is NaN.
 */
export function nechadTurbidity(rhow: number, band: NechadBand): number {
  const { aFnu, c } = NECHAD_COEFFICIENTS[band];
  if (!(rhow < c)) return Number.NaN;
  return (aFnu * rhow) / (1 - rhow / c);
}
