/**
 * The ViT input: a stack of small rasters centred on a site, built the same way for training
 * (backfill), serving and the edge so a chip means the same everywhere.
 */
export interface ChipSpec {
  /** Channel names in tensor order: feature names of the catalogue, or `reef_mask`. */
  readonly channels: readonly string[];
  /** Width and height in pixels. */
  readonly sizePx: number;
  /** Pixel edge in degrees of longitude and latitude. */
  readonly pixelDeg: number;
}

/** Channel that is 1 where the pixel holds at least one reef site, else 0. */
export const REEF_MASK_CHANNEL = 'reef_mask';

/**
 * 16 x 16 pixels of 0.02 degrees: a 0.32 degree (~35 km) window. The shipped GBR reef table is
 * on a 0.01 degree grid, so each chip pixel summarises up to four reef pixels; 35 km spans a
 * reef and its neighbours across the shelf, the scale at which heat stress and water quality
 * vary, while 16 x 16 keeps a ViT with 4 x 4 patches (16 tokens) trainable on 2 CPU cores.
 */
export const DEFAULT_CHIP_SPEC: ChipSpec = {
  channels: [
    'dhw_max_ytd',
    'dhw_prev_year_max',
    'sst_clim_range',
    'k490',
    'depth_m',
    REEF_MASK_CHANNEL,
  ],
  sizePx: 16,
  pixelDeg: 0.02,
};

/** Number of float32 values in one chip: channels x size x size. */
export function chipLength(spec: ChipSpec): number {
  return spec.channels.length * spec.sizePx * spec.sizePx;
}
