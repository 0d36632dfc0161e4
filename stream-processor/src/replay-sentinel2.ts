import { mkdir, readdir, readFile, writeFile } from 'node:fs/promises';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join, normalize } from 'node:path';
import {
  NECHAD_COEFFICIENTS,
  SCL,
  SENTINEL2_BOA_ADD_OFFSET_PB04,
  SENTINEL2_QUANTIFICATION_VALUE,
} from '@reefguard/core';
import { writeCogUint16 } from './geotiff-writer.js';
import { lonLatToUtm } from './utm.js';

/**
 * Replayed Sentinel-2 L2A scenes: for each site, every 5 days (the Sentinel-2A/B revisit), a
 * STAC item and four small 20 m COGs (B04, B05, B11, SCL) in the site's UTM zone, digital
 * numbers with the BOA_ADD_OFFSET of the year's processing baseline, so the real ingestion
 * reads them back. Turbidity is grounded on the shipped per-pixel Kd(490) (SW_K490_AV):
 * T = 20 FNU m x (Kd490 - 0.0166 1/m), the particulate part of the attenuation (0.0166 1/m is
 * pure sea water, Mueller 2000) at roughly 20 FNU per 1/m (an approximate coastal relation,
 * good enough for a replay), raised by up to 50 % in the February flood-plume season. Every
 * fourth scene is cloud-covered (SCL high-probability cloud) and yields no value.
 */

export const REPLAY_REVISIT_DAYS = 5;
export const REPLAY_SCENE_PX = 48;
const PIXEL_M = 20;
const PURE_WATER_KD490 = 0.0166;
const FNU_PER_KD = 20;
const GLINT_REFLECTANCE = 0.002;

export interface Sentinel2ReplaySite {
  siteId: string;
  lat: number;
  lon: number;
  /** Mean diffuse attenuation at 490 nm (1/m). */
  k490: number;
}

/** The replayed turbidity (FNU) of a site on a day. */
export function replayTurbidityFnu(site: Sentinel2ReplaySite, day: number): number {
  const year = new Date(day * 86_400_000).getUTCFullYear();
  const plume = Date.UTC(year, 1, 15) / 86_400_000;
  const season = 1 + 0.5 * Math.exp(-(((day - plume) / 20) ** 2));
  return Math.max(0.2, FNU_PER_KD * (site.k490 - PURE_WATER_KD490)) * season;
}

/** Water-leaving reflectance that gives turbidity T in Nechad's band `band` (the inverse). */
function nechadReflectance(turbidityFnu: number, band: 'B4' | 'B5'): number {
  const { aFnu, c } = NECHAD_COEFFICIENTS[band];
  return turbidityFnu / (aFnu + turbidityFnu / c);
}

/** Whether the replay scene of a day is clouded over. */
export const isReplayCloudy = (sceneIndex: number) => sceneIndex % 4 === 3;

/**
 * Writes the scenes of `days` (every REPLAY_REVISIT_DAYS-th day from the first) for every site
 * under `outDir/sentinel2`: `<item id>.json` and `<item id>/{B04,B05,B11,SCL}.tif`.
 * Returns the item ids.
 */
export async function writeReplaySentinel2(
  sites: readonly Sentinel2ReplaySite[],
  days: readonly number[],
  outDir: string,
): Promise<string[]> {
  const root = join(outDir, 'sentinel2');
  await mkdir(root, { recursive: true });
  const ids: string[] = [];
  for (let k = 0; k * REPLAY_REVISIT_DAYS < days.length; k++) {
    const day = days[k * REPLAY_REVISIT_DAYS] as number;
    const date = new Date(day * 86_400_000 + 10 * 60_000);
    const year = date.getUTCFullYear();
    const offset = year >= 2022 ? SENTINEL2_BOA_ADD_OFFSET_PB04 : 0;
    for (const site of sites) {
      const zone = Math.floor((site.lon + 180) / 6) + 1;
      const epsg = (site.lat < 0 ? 32700 : 32600) + zone;
      const { eastingM, northingM } = lonLatToUtm(site.lon, site.lat, {
        zone,
        south: site.lat < 0,
      });
      const half = (REPLAY_SCENE_PX / 2) * PIXEL_M;
      const originX = Math.floor(eastingM / PIXEL_M) * PIXEL_M - half;
      const originY = Math.ceil(northingM / PIXEL_M) * PIXEL_M + half;
      const t = replayTurbidityFnu(site, day);
      const dn = (rho: number) =>
        Math.round((rho + GLINT_REFLECTANCE) * SENTINEL2_QUANTIFICATION_VALUE - offset);
      const cloudy = isReplayCloudy(k);
      const n = REPLAY_SCENE_PX * REPLAY_SCENE_PX;
      const bands = {
        B04: new Uint16Array(n).fill(cloudy ? dn(0.5) : dn(nechadReflectance(t, 'B4'))),
        B05: new Uint16Array(n).fill(cloudy ? dn(0.5) : dn(nechadReflectance(t, 'B5'))),
        B11: new Uint16Array(n).fill(cloudy ? dn(0.3) : dn(0)),
        SCL: new Uint16Array(n).fill(cloudy ? SCL.cloudHighProbability : SCL.water),
      };
      const ymd = date.toISOString().slice(0, 10).replaceAll('-', '');
      const id = `S2R_${site.siteId}_${ymd}`;
      await mkdir(join(root, id), { recursive: true });
      for (const [band, values] of Object.entries(bands)) {
        const cog = writeCogUint16({
          width: REPLAY_SCENE_PX,
          height: REPLAY_SCENE_PX,
          values,
          originX,
          originY,
          pixelSizeM: PIXEL_M,
          epsg,
          tileSize: 16,
          gdalMetadata: {
            band:
              band === 'SCL'
                ? { BANDNAME: band }
                : {
                    BANDNAME: band,
                    OFFSET: String(offset / SENTINEL2_QUANTIFICATION_VALUE),
                    SCALE: '0.0001',
                  },
          },
        });
        await writeFile(join(root, id, `${band}.tif`), cog);
      }
      const transform = [PIXEL_M, 0, originX, 0, -PIXEL_M, originY];
      const asset = (band: string, title: string) => ({
        href: `./${id}/${band}.tif`,
        type: 'image/tiff; application=geotiff; profile=cloud-optimized',
        title,
        gsd: PIXEL_M,
        ...(band === 'SCL' ? {} : { 'eo:bands': [{ name: band }] }),
        'proj:shape': [REPLAY_SCENE_PX, REPLAY_SCENE_PX],
        'proj:transform': transform,
        roles: ['data'],
      });
      const margin = 0.006;
      const item = {
        type: 'Feature',
        stac_version: '1.1.0',
        id,
        bbox: [site.lon - margin, site.lat - margin, site.lon + margin, site.lat + margin],
        geometry: null,
        properties: {
          datetime: date.toISOString(),
          platform: 'sentinel-2a',
          constellation: 'sentinel-2',
          'eo:cloud_cover': cloudy ? 100 : 0,
          's2:processing_baseline': year >= 2022 ? '04.00' : '02.12',
          'proj:code': `EPSG:${epsg}`,
        },
        assets: {
          red_20m: asset('B04', 'Red - 20m'),
          rededge1: asset('B05', 'Red Edge 1 - 20m'),
          swir16: asset('B11', 'SWIR 1.6um - 20m'),
          scl: asset('SCL', 'Scene classification map (SCL)'),
        },
        links: [],
      };
      await writeFile(join(root, `${id}.json`), JSON.stringify(item));
      ids.push(id);
    }
  }
  return ids;
}

/**
 * A STAC API over a replay folder: `POST /search` (bbox and datetime filters) answers the
 * items in `dir/sentinel2`, and files are served with HTTP range requests, as a COG host does.
 */
export async function startReplayStacServer(dir: string, port = 0) {
  const root = join(dir, 'sentinel2');
  const names = (await readdir(root)).filter((n) => n.endsWith('.json'));
  const items = await Promise.all(
    names.map(async (n) => JSON.parse(await readFile(join(root, n), 'utf8')) as StacLike),
  );
  const server = createServer((req, res) => {
    const url = new URL(req.url ?? '/', 'http://replay');
    if (url.pathname === '/search' && req.method === 'POST') {
      let body = '';
      req.on('data', (c: Buffer) => {
        body += c.toString();
      });
      req.on('end', () => {
        const search = JSON.parse(body || '{}') as { bbox?: number[]; datetime?: string };
        const [from, to] = (search.datetime ?? '../..').split('/');
        const features = items.filter((item) => {
          const [w, s, e, n] = item.bbox;
          const [bw, bs, be, bn] = search.bbox ?? [-180, -90, 180, 90];
          const t = item.properties.datetime;
          return (
            w <= (be as number) &&
            e >= (bw as number) &&
            s <= (bn as number) &&
            n >= (bs as number) &&
            (!from || from === '..' || t >= from) &&
            (!to || to === '..' || t <= to)
          );
        });
        res.setHeader('content-type', 'application/geo+json');
        res.end(JSON.stringify({ type: 'FeatureCollection', features, links: [] }));
      });
      return;
    }
    const path = normalize(join(root, decodeURIComponent(url.pathname)));
    if (!path.startsWith(root)) {
      res.statusCode = 403;
      res.end();
      return;
    }
    readFile(path).then(
      (file) => {
        const range = /bytes=(\d+)-(\d+)?/.exec(req.headers.range ?? '');
        if (!range) {
          res.end(file);
          return;
        }
        const start = Number(range[1]);
        const end = Math.min(range[2] ? Number(range[2]) : file.length - 1, file.length - 1);
        res.statusCode = 206;
        res.setHeader('content-range', `bytes ${start}-${end}/${file.length}`);
        res.end(file.subarray(start, end + 1));
      },
      () => {
        res.statusCode = 404;
        res.end();
      },
    );
  });
  await new Promise<void>((resolve) => server.listen(port, '127.0.0.1', resolve));
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}/`,
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}

interface StacLike {
  bbox: [number, number, number, number];
  properties: { datetime: string };
}
