import { fromArrayBuffer } from 'geotiff';
import { InputFormatError } from '../errors.js';

/** A monthly mean climatology raster: 12 bands (January..December), degC. */
export interface ClimatologyRaster {
  width: number;
  height: number;
  /** [west, south, east, north], degrees. */
  bbox: [number, number, number, number];
  /** Band m (0 = January), pixel p (row-major from the north-west) at `m * width * height + p`. */
  monthlyMeanC: Float64Array;
  /** Maximum of the 12 monthly means per pixel (NaN where any band is nodata). */
  mmmC: Float64Array;
  /** Index of the pixel holding (lat, lon), or -1 outside the raster. */
  pixelAt(latDeg: number, lonDeg: number): number;
  /** The 12 monthly means of one pixel. */
  monthlyMeanAt(pixel: number): Float64Array;
}

/** Reads a 12-band monthly mean climatology GeoTIFF (e.g. the CRW v3.1 climatology). */
export async function readClimatologyGeotiff(bytes: Uint8Array): Promise<ClimatologyRaster> {
  let image: Awaited<ReturnType<Awaited<ReturnType<typeof fromArrayBuffer>>['getImage']>>;
  try {
    const buffer = bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + bytes.byteLength);
    image = await (await fromArrayBuffer(buffer as ArrayBuffer)).getImage();
  } catch (cause) {
    throw new InputFormatError('not a readable GeoTIFF', { cause });
  }
  if (image.getSamplesPerPixel() !== 12) {
    throw new InputFormatError(
      `a monthly climatology GeoTIFF has 12 bands, this one ${image.getSamplesPerPixel()}`,
    );
  }
  const width = image.getWidth();
  const height = image.getHeight();
  const n = width * height;
  const noData = image.getGDALNoData();
  const bands = (await image.readRasters()) as unknown as ArrayLike<number>[];
  const monthlyMeanC = new Float64Array(12 * n);
  const mmmC = new Float64Array(n).fill(Number.NEGATIVE_INFINITY);
  for (let m = 0; m < 12; m++) {
    const band = bands[m]!;
    for (let p = 0; p < n; p++) {
      const v = band[p]!;
      const value = v === noData || !Number.isFinite(v) || v < -5 || v > 45 ? Number.NaN : v;
      monthlyMeanC[m * n + p] = value;
      mmmC[p] = value > mmmC[p]! || Number.isNaN(value) ? value : mmmC[p]!;
    }
  }
  const [west, south, east, north] = image.getBoundingBox() as [number, number, number, number];
  return {
    width,
    height,
    bbox: [west, south, east, north],
    monthlyMeanC,
    mmmC,
    pixelAt(latDeg, lonDeg) {
      const col = Math.floor(((lonDeg - west) / (east - west)) * width);
      const row = Math.floor(((north - latDeg) / (north - south)) * height);
      return col < 0 || col >= width || row < 0 || row >= height ? -1 : row * width + col;
    },
    monthlyMeanAt(pixel) {
      return Float64Array.from({ length: 12 }, (_, m) => monthlyMeanC[m * n + pixel]!);
    },
  };
}
