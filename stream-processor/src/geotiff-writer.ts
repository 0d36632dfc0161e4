import { deflateSync } from 'node:zlib';

/**
 * A small cloud-optimised GeoTIFF writer for one uint16 band on a projected grid: the header
 * and IFD come first, then deflate-compressed tiles, so a reader with HTTP range requests
 * fetches the IFD once and then only the tiles a window touches (the layout of the Sentinel-2
 * L2A COGs on AWS). Used by the replay and by tests that serve scenes over HTTP.
 */

export const DEFAULT_TILE_SIZE = 256;

export interface GeoTiffBand {
  width: number;
  height: number;
  values: Uint16Array;
  /** Upper-left corner of the upper-left pixel (m) and the pixel size (m). */
  originX: number;
  originY: number;
  pixelSizeM: number;
  /** EPSG code of the projected grid, e.g. 32755 (WGS 84 / UTM 55S). */
  epsg: number;
  nodata?: number;
  tileSize?: number;
  /** GDAL metadata items (band description, OFFSET, SCALE ...) as GDAL writes them. */
  gdalMetadata?: { band?: Record<string, string>; dataset?: Record<string, string> };
}

const SHORT = 3;
const LONG = 4;
const DOUBLE = 12;
const ASCII = 2;

interface Entry {
  tag: number;
  type: number;
  values: number[] | string;
}

const TYPE_SIZE: Record<number, number> = { [SHORT]: 2, [LONG]: 4, [DOUBLE]: 8, [ASCII]: 1 };

function gdalMetadataXml(meta: NonNullable<GeoTiffBand['gdalMetadata']>): string {
  const esc = (s: string) => s.replaceAll('&', '&amp;').replaceAll('<', '&lt;');
  const items = [
    ...Object.entries(meta.dataset ?? {}).map(([k, v]) => `<Item name="${k}">${esc(v)}</Item>`),
    ...Object.entries(meta.band ?? {}).map(
      ([k, v]) =>
        `<Item name="${k}" sample="0"${k === 'OFFSET' || k === 'SCALE' ? ` role="${k.toLowerCase()}"` : ''}>${esc(v)}</Item>`,
    ),
  ];
  return `<GDALMetadata>${items.join('')}</GDALMetadata>`;
}

/** Encodes one band as a tiled, deflate-compressed GeoTIFF (little-endian, classic TIFF). */
export function writeCogUint16(band: GeoTiffBand): Uint8Array {
  const { width, height, values } = band;
  if (values.length !== width * height) {
    throw new RangeError(`band has ${values.length} values, expected ${width} x ${height}`);
  }
  const tile = band.tileSize ?? DEFAULT_TILE_SIZE;
  const across = Math.ceil(width / tile);
  const down = Math.ceil(height / tile);
  const nodata = band.nodata ?? 0;
  const tiles: Buffer[] = [];
  const buffer = new Uint16Array(tile * tile);
  for (let ty = 0; ty < down; ty++) {
    for (let tx = 0; tx < across; tx++) {
      buffer.fill(nodata);
      for (let y = 0; y < tile && ty * tile + y < height; y++) {
        const row = (ty * tile + y) * width + tx * tile;
        const n = Math.min(tile, width - tx * tile);
        buffer.set(values.subarray(row, row + n), y * tile);
      }
      tiles.push(deflateSync(Buffer.from(buffer.buffer, buffer.byteOffset, buffer.byteLength)));
    }
  }
  const entries: Entry[] = [
    { tag: 256, type: LONG, values: [width] },
    { tag: 257, type: LONG, values: [height] },
    { tag: 258, type: SHORT, values: [16] },
    { tag: 259, type: SHORT, values: [8] },
    { tag: 262, type: SHORT, values: [1] },
    { tag: 277, type: SHORT, values: [1] },
    { tag: 284, type: SHORT, values: [1] },
    { tag: 322, type: SHORT, values: [tile] },
    { tag: 323, type: SHORT, values: [tile] },
    { tag: 324, type: LONG, values: tiles.map(() => 0) },
    { tag: 325, type: LONG, values: tiles.map((t) => t.length) },
    { tag: 339, type: SHORT, values: [1] },
    { tag: 33550, type: DOUBLE, values: [band.pixelSizeM, band.pixelSizeM, 0] },
    { tag: 33922, type: DOUBLE, values: [0, 0, 0, band.originX, band.originY, 0] },
    // GeoKeys: projected model, pixel is area, the EPSG projected CRS.
    {
      tag: 34735,
      type: SHORT,
      values: [1, 1, 0, 3, 1024, 0, 1, 1, 1025, 0, 1, 1, 3072, 0, 1, band.epsg],
    },
    ...(band.gdalMetadata
      ? [{ tag: 42112, type: ASCII, values: `${gdalMetadataXml(band.gdalMetadata)}\0` }]
      : []),
    { tag: 42113, type: ASCII, values: `${nodata}\0` },
  ];
  const ifdSize = 2 + entries.length * 12 + 4;
  let extraSize = 0;
  const sizeOf = (e: Entry) => TYPE_SIZE[e.type]! * e.values.length;
  for (const e of entries) if (sizeOf(e) > 4) extraSize += sizeOf(e) + (sizeOf(e) % 2);
  const dataStart = 8 + ifdSize + extraSize;
  const total = dataStart + tiles.reduce((n, t) => n + t.length, 0);
  // Tile offsets are known only now: fill them in before encoding.
  let offset = dataStart;
  (entries.find((e) => e.tag === 324) as Entry).values = tiles.map((t) => {
    const at = offset;
    offset += t.length;
    return at;
  });
  const out = new Uint8Array(total);
  const view = new DataView(out.buffer);
  out.set([0x49, 0x49]);
  view.setUint16(2, 42, true);
  view.setUint32(4, 8, true);
  view.setUint16(8, entries.length, true);
  let extra = 8 + ifdSize;
  entries.forEach((e, i) => {
    const at = 10 + i * 12;
    view.setUint16(at, e.tag, true);
    view.setUint16(at + 2, e.type, true);
    view.setUint32(at + 4, e.values.length, true);
    const size = sizeOf(e);
    const target = size > 4 ? extra : at + 8;
    if (size > 4) {
      view.setUint32(at + 8, extra, true);
      extra += size + (size % 2);
    }
    if (typeof e.values === 'string') {
      for (let k = 0; k < e.values.length; k++) out[target + k] = e.values.charCodeAt(k);
      return;
    }
    e.values.forEach((v, k) => {
      if (e.type === SHORT) view.setUint16(target + 2 * k, v, true);
      else if (e.type === LONG) view.setUint32(target + 4 * k, v, true);
      else view.setFloat64(target + 8 * k, v, true);
    });
  });
  view.setUint32(10 + entries.length * 12, 0, true);
  let at = dataStart;
  for (const t of tiles) {
    out.set(t, at);
    at += t.length;
  }
  return out;
}
