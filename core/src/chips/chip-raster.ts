import { type ChipSpec, chipLength, REEF_MASK_CHANNEL } from './chip-spec.js';

/** Point values to rasterise: one entry per site, one array per non-mask channel. */
export interface ChipPoints {
  readonly lonDeg: ArrayLike<number>;
  readonly latDeg: ArrayLike<number>;
  /** Values per channel name, aligned with lonDeg/latDeg; NaN where unknown. */
  readonly values: Readonly<Record<string, ArrayLike<number>>>;
}

/** Cuts chips out of a gridded layer set. */
export interface ChipRaster {
  readonly spec: ChipSpec;
  /** Number of grid cells holding at least one point. */
  readonly cells: number;
  /**
   * The chip centred on (lon, lat), float32 [channels, size, size] row-major, row 0 north.
   * The site's own cell is at row size/2, column size/2. Writes into `out` when given.
   */
  chipAt(lonDeg: number, latDeg: number, out?: Float32Array): Float32Array;
}

// Cell keys pack (column, row) into one safe integer; offsets keep both non-negative.
const KEY_STRIDE = 1 << 20;
const KEY_OFFSET = 1 << 19;
// Coordinates like 143.24 / 0.02 land a hair below an integer in binary floating point.
const CELL_EPSILON = 1e-9;

function cellIndex(deg: number, pixelDeg: number): number {
  return Math.floor(deg / pixelDeg + CELL_EPSILON);
}

function cellKey(column: number, row: number): number {
  return (column + KEY_OFFSET) * KEY_STRIDE + (row + KEY_OFFSET);
}

/**
 * Rasterises points onto a regular lon/lat grid of `spec.pixelDeg` (each cell the mean of
 * the finite values of the points inside it; `reef_mask` 1 where a cell has a point) behind a
 * hash index of occupied cells, so cutting a chip is size^2 lookups whatever the grid extent.
 * Empty cells and unknown values are 0; the mask channel tells the model which are real.
 */
export function createChipRaster(points: ChipPoints, spec: ChipSpec): ChipRaster {
  const dataChannels = spec.channels.filter((c) => c !== REEF_MASK_CHANNEL);
  for (const channel of dataChannels) {
    const values = points.values[channel];
    if (values === undefined) {
      throw new RangeError(`chip channel "${channel}" has no values in the layer set`);
    }
    if (values.length !== points.lonDeg.length) {
      throw new RangeError(
        `chip channel "${channel}" has ${values.length} values, expected ${points.lonDeg.length}`,
      );
    }
  }
  const cellOf = new Map<number, number>();
  const pointCell = new Uint32Array(points.lonDeg.length);
  for (let i = 0; i < points.lonDeg.length; i++) {
    const key = cellKey(
      cellIndex(points.lonDeg[i] as number, spec.pixelDeg),
      cellIndex(points.latDeg[i] as number, spec.pixelDeg),
    );
    let cell = cellOf.get(key);
    if (cell === undefined) {
      cell = cellOf.size;
      cellOf.set(key, cell);
    }
    pointCell[i] = cell;
  }
  const channelCount = spec.channels.length;
  const sums = new Float64Array(cellOf.size * channelCount);
  const counts = new Uint32Array(cellOf.size * channelCount);
  spec.channels.forEach((channel, c) => {
    const values = points.values[channel];
    for (let i = 0; i < pointCell.length; i++) {
      const slot = (pointCell[i] as number) * channelCount + c;
      const value = channel === REEF_MASK_CHANNEL ? 1 : (values?.[i] as number);
      if (Number.isFinite(value)) {
        sums[slot] = (sums[slot] as number) + value;
        counts[slot] = (counts[slot] as number) + 1;
      }
    }
  });
  const cellValues = new Float32Array(sums.length);
  for (let slot = 0; slot < sums.length; slot++) {
    const count = counts[slot] as number;
    cellValues[slot] = count === 0 ? 0 : (sums[slot] as number) / count;
  }
  const maskChannel = spec.channels.indexOf(REEF_MASK_CHANNEL);
  if (maskChannel >= 0) {
    for (let cell = 0; cell < cellOf.size; cell++)
      cellValues[cell * channelCount + maskChannel] = 1;
  }

  const size = spec.sizePx;
  const half = Math.floor(size / 2);
  const plane = size * size;
  return {
    spec,
    cells: cellOf.size,
    chipAt(lonDeg, latDeg, out = new Float32Array(chipLength(spec))) {
      out.fill(0);
      const centreColumn = cellIndex(lonDeg, spec.pixelDeg);
      const centreRow = cellIndex(latDeg, spec.pixelDeg);
      for (let r = 0; r < size; r++) {
        const row = centreRow + half - r;
        for (let col = 0; col < size; col++) {
          const cell = cellOf.get(cellKey(centreColumn - half + col, row));
          if (cell === undefined) continue;
          const base = cell * channelCount;
          for (let c = 0; c < channelCount; c++) {
            out[c * plane + r * size + col] = cellValues[base + c] as number;
          }
        }
      }
      return out;
    },
  };
}

/**
 * A chip for a site with no neighbouring grid (a global survey site): each channel is the
 * site's own value broadcast over the window (0 when unknown) and `reef_mask` is 1 only in
 * the centre cell, so the model can tell it from a rasterised GBR chip.
 */
export function broadcastChip(
  values: Readonly<Record<string, number | null | undefined>>,
  spec: ChipSpec,
  out = new Float32Array(chipLength(spec)),
): Float32Array {
  const size = spec.sizePx;
  const plane = size * size;
  const half = Math.floor(size / 2);
  spec.channels.forEach((channel, c) => {
    if (channel === REEF_MASK_CHANNEL) {
      out.fill(0, c * plane, (c + 1) * plane);
      out[c * plane + half * size + half] = 1;
      return;
    }
    const value = values[channel];
    out.fill(
      value !== null && value !== undefined && Number.isFinite(value) ? value : 0,
      c * plane,
      (c + 1) * plane,
    );
  });
  return out;
}
