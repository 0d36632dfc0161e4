import { readFile } from 'node:fs/promises';
import {
  type ChipRaster,
  createChipRaster,
  InputFormatError,
  type ModelCard,
  REEF_MASK_CHANNEL,
} from '@reefguard/core';
import type { Site } from './sites.js';

/**
 * The gridded layers a ViT member reads around a site (its chip). A chip model answers in full
 * only when every channel of its card is in the layers and the site itself has values; otherwise
 * the answer is degraded and says which of these reasons applied.
 */
export interface ChipLayers {
  /** The site's chip, float32 [C, S, S] in the card's channel order, or why there is none. */
  chipFor(chip: NonNullable<ModelCard['chip']>, site: Site): Float32Array | string;
}

/**
 * Layers file: `{"columns": ["site_id", <channel>...], "rows": [[site_id, value|null, ...], ...]}`,
 * raw values per site in the units of the feature catalogue (the ONNX graph normalises). Sites
 * are placed by the site catalogue's coordinates; `reef_mask` is implied by the rows.
 */
interface LayersFile {
  columns: string[];
  rows: Array<Array<string | number | null>>;
}

/** Chip layers that do not exist: every chip model answers degraded, saying so. */
export const NO_CHIP_LAYERS: ChipLayers = {
  chipFor: () =>
    'no chip layers are configured (REEFGUARD_CHIP_LAYERS_FILE), so the ViT member cannot run',
};

export async function loadChipLayers(path: string, sites: readonly Site[]): Promise<ChipLayers> {
  let file: LayersFile;
  try {
    file = JSON.parse(await readFile(path, 'utf8')) as LayersFile;
  } catch (cause) {
    throw new InputFormatError(`cannot read the chip layers file ${path}`, { cause });
  }
  if (!Array.isArray(file.columns) || file.columns[0] !== 'site_id' || !Array.isArray(file.rows)) {
    throw new InputFormatError(
      `chip layers file ${path} needs {"columns": ["site_id", ...channels], "rows": [...]}`,
    );
  }
  return createChipLayers(file.columns.slice(1), file.rows, sites);
}

export function createChipLayers(
  channels: readonly string[],
  rows: LayersFile['rows'],
  sites: readonly Site[],
): ChipLayers {
  const bySite = new Map(sites.map((site) => [site.site_id, site]));
  const placed = rows.filter((row) => bySite.has(String(row[0])));
  const withValues = new Set(placed.map((row) => String(row[0])));
  const lonDeg = Float64Array.from(placed, (row) => bySite.get(String(row[0]))?.lon ?? Number.NaN);
  const latDeg = Float64Array.from(placed, (row) => bySite.get(String(row[0]))?.lat ?? Number.NaN);
  const values: Record<string, Float64Array> = {};
  channels.forEach((channel, c) => {
    values[channel] = Float64Array.from(placed, (row) => {
      const value = row[c + 1];
      return value === null || value === undefined ? Number.NaN : Number(value);
    });
  });
  // One raster per chip geometry (channels, size, pixel): built on first use, then reused.
  const rasters = new Map<string, ChipRaster>();
  return {
    chipFor(chip, site) {
      const lacking = chip.channels.filter((c) => c !== REEF_MASK_CHANNEL && !(c in values));
      if (lacking.length > 0) {
        return `the chip layers lack ${lacking.join(', ')}, so the ViT member cannot run`;
      }
      if (!withValues.has(site.site_id)) {
        return `the chip layers hold no values at site ${site.site_id}, so the ViT member cannot run`;
      }
      const key = `${chip.channels.join(',')}/${chip.size_px}/${chip.pixel_deg}`;
      let raster = rasters.get(key);
      if (!raster) {
        raster = createChipRaster(
          { lonDeg, latDeg, values },
          { channels: chip.channels, sizePx: chip.size_px, pixelDeg: chip.pixel_deg },
        );
        rasters.set(key, raster);
      }
      return raster.chipAt(site.lon, site.lat);
    },
  };
}
