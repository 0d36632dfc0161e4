import { readFile } from 'node:fs/promises';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import {
  createEventState,
  createFetcher,
  createOnlineStore,
  createSiteRegistry,
  ingestSentinel2,
  lonLatToUtm,
  type OfflineStore,
  openOfflineStore,
  type Sentinel2IngestSummary,
  utmZoneOfEpsg,
  writeCogUint16,
} from '@reefguard/stream-processor';
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { isolation, testSite } from './stream-helpers.js';

const FIXTURES = 'test/fixtures/sentinel2';
const ITEM_PB0212 = 'S2A_MSIL2A_20190212T192651_N0212_R013_T07HFE_20201007T160857.SAFE.json';
const ITEM_PB0400 = 'S2A_OPER_MSI_L2A_TL_VGS1_20220401T110010_A035382_T34LBQ.json';

// Sites inside the real items' footprints (Pacific tile 07HFE, Angolan tile 34LBQ).
const PACIFIC = { ...testSite('s2-pacific'), lat: -31.7, lon: -139.8 };
const ANGOLA = { ...testSite('s2-angola'), lat: -9.99, lon: 19.05 };

const SUBSET_PX = 256; // the served rasters: 256 x 256 pixels of 20 m around the site
const TILE_PX = 16;
const WINDOW_PX = 31; // the reader's default 15-pixel radius
// In the 31 x 31 window around the site, the first 18 rows are cloud, cloud shadow, land and
// snow (558 of 961 pixels) with bright values; the last 13 rows are clear water.
const MASKED_ROWS: [number, number][] = [
  [5, 9], // rows 0-4: high-probability cloud
  [4, 3], // rows 5-8: cloud shadow
  [5, 5], // rows 9-13: not vegetated (land)
  [4, 11], // rows 14-17: snow
];
const WATER_PIXELS = 13 * WINDOW_PX;

/** Nechad et al. 2016 B4 turbidity (FNU), written out here independently of the code. */
const nechadB4 = (rhow: number) => (366.14 * rhow) / (1 - rhow / 0.19563);

interface Scene {
  /** The item as served: a real fixture, with its id, date and hrefs changed for copies. */
  item: Record<string, unknown>;
  site: typeof PACIFIC;
  /** B4 water-leaving reflectance of the clear water pixels. */
  rhowB4: number;
  /** BOA_ADD_OFFSET the scene's digital numbers carry. */
  offset: number;
}

const SWIR_RHO = 0.002;

function sceneRasters(scene: Scene) {
  const item = scene.item as {
    properties: Record<string, string>;
    assets: Record<string, { href: string; 'proj:transform': number[] }>;
  };
  const zone = utmZoneOfEpsg(item.properties['proj:code'] as string);
  const [, , x0, , , y0] = (item.assets.scl as { 'proj:transform': number[] })['proj:transform'];
  const { eastingM, northingM } = lonLatToUtm(scene.site.lon, scene.site.lat, zone);
  const col = Math.floor((eastingM - (x0 as number)) / 20);
  const row = Math.floor(((y0 as number) - northingM) / 20);
  const half = SUBSET_PX / 2;
  const grid = {
    width: SUBSET_PX,
    height: SUBSET_PX,
    originX: (x0 as number) + 20 * (col - half),
    originY: (y0 as number) - 20 * (row - half),
    pixelSizeM: 20,
    epsg: Number((item.properties['proj:code'] as string).slice(5)),
    tileSize: TILE_PX,
  };
  const dn = (rho: number) => Math.round(rho * 10_000 - scene.offset);
  const scl = new Uint16Array(SUBSET_PX * SUBSET_PX).fill(6);
  const b04 = new Uint16Array(SUBSET_PX * SUBSET_PX).fill(dn(scene.rhowB4 + SWIR_RHO));
  const b05 = new Uint16Array(SUBSET_PX * SUBSET_PX).fill(dn(scene.rhowB4 * 0.6 + SWIR_RHO));
  const b11 = new Uint16Array(SUBSET_PX * SUBSET_PX).fill(dn(SWIR_RHO));
  let r = half - 15;
  for (const [rows, cls] of MASKED_ROWS) {
    for (let k = 0; k < rows; k++, r++) {
      for (let c = 0; c < SUBSET_PX; c++) {
        scl[r * SUBSET_PX + c] = cls;
        b04[r * SUBSET_PX + c] = dn(0.6);
        b05[r * SUBSET_PX + c] = dn(0.6);
        b11[r * SUBSET_PX + c] = dn(0.3);
      }
    }
  }
  // Noise outside the window, so the files are the size of real imagery, not of a constant.
  let seed = 12345;
  for (let i = 0; i < b04.length; i++) {
    const r0 = Math.floor(i / SUBSET_PX) - half;
    const c0 = (i % SUBSET_PX) - half;
    if (Math.abs(r0) <= 16 && Math.abs(c0) <= 16) continue;
    for (const values of [b04, b05, b11]) {
      seed = (seed * 1103515245 + 12345) % 2 ** 31;
      values[i] = 1 + (seed % 9000);
    }
  }
  const band = (values: Uint16Array, name: string) =>
    writeCogUint16({ ...grid, values, gdalMetadata: { band: { BANDNAME: name } } });
  return {
    B04: band(b04, 'B04'),
    B05: band(b05, 'B05'),
    B11: band(b11, 'B11'),
    SCL: band(scl, 'SCL'),
  };
}

/** A copy of a real item for another date, its 20 m band assets renamed to GeoTIFFs. */
function copyItem(item: Record<string, unknown>, id: string, datetime: string, asCog: boolean) {
  const copy = structuredClone(item) as {
    id: string;
    properties: Record<string, unknown>;
    assets: Record<string, { href: string; type?: string }>;
  };
  copy.id = id;
  copy.properties.datetime = datetime;
  for (const asset of Object.values(copy.assets)) {
    asset.href = asset.href.replace(/^\.\//, `./${id}/`);
    if (asCog && asset.href.endsWith('.jp2')) {
      asset.href = asset.href.replace(/\.jp2$/, '.tif');
      asset.type = 'image/tiff; application=geotiff; profile=cloud-optimized';
    }
  }
  return copy;
}

const bandOfHref = (href: string) =>
  /B04/.test(href)
    ? 'B04'
    : /B05/.test(href)
      ? 'B05'
      : /B11/.test(href)
        ? 'B11'
        : /SCL/.test(href)
          ? 'SCL'
          : null;

describe('stream processor - Sentinel-2 L2A turbidity from STAC + COG windows', () => {
  const { redisUrl } = inject('stack');
  let server: Server;
  let baseUrl: string;
  let redis: Redis;
  let offline: OfflineStore;
  let iso: Awaited<ReturnType<typeof isolation>>;
  const files = new Map<string, Uint8Array>();
  const pages: unknown[][] = [];
  let bytesServed = 0;
  let rangeRequests = 0;
  let searchCalls = 0;
  let scenes: Scene[];
  let first: Sentinel2IngestSummary;

  const expectedT = (scene: Scene) => nechadB4(scene.rhowB4);

  beforeAll(async () => {
    iso = await isolation();
    redis = new Redis(redisUrl);
    offline = await openOfflineStore(`${iso.dir}/offline.duckdb`);
    const pb0212 = JSON.parse(await readFile(`${FIXTURES}/${ITEM_PB0212}`, 'utf8'));
    const pb0400 = JSON.parse(await readFile(`${FIXTURES}/${ITEM_PB0400}`, 'utf8'));
    scenes = [
      { item: pb0212, site: PACIFIC, rhowB4: 0.02, offset: 0 },
      {
        item: copyItem(pb0400, `${pb0400.id}-cog`, pb0400.properties.datetime, true),
        site: ANGOLA,
        rhowB4: 0.04,
        offset: -1000,
      },
      {
        item: copyItem(pb0212, 'S2A_T07HFE_20190222', '2019-02-22T19:26:51Z', false),
        site: PACIFIC,
        rhowB4: 0.03,
        offset: 0,
      },
      {
        item: copyItem(pb0212, 'S2A_T07HFE_20190304', '2019-03-04T19:26:51Z', false),
        site: PACIFIC,
        rhowB4: 0.01,
        offset: 0,
      },
    ];
    // Page 1: the real 02.12 item and the real 04.00 item (JPEG 2000 assets); page 2: the rest.
    // ... and a scene whose B04 file is an HTML error page saved under the COG's name.
    const corrupt = copyItem(pb0212, 'S2A_T07HFE_20190314', '2019-03-14T19:26:51Z', false);
    pages.push([pb0212, pb0400], [...scenes.slice(1).map((s) => s.item), corrupt]);
    for (const scene of scenes) {
      const rasters = sceneRasters(scene);
      const assets = (
        scene.item as {
          assets: Record<string, { href: string; 'proj:transform'?: number[] }>;
        }
      ).assets;
      for (const asset of Object.values(assets)) {
        const band = asset['proj:transform']?.[0] === 20 ? bandOfHref(asset.href) : null;
        if (band && asset.href.endsWith('.tif'))
          files.set(new URL(asset.href, 'http://x/stac/').pathname, rasters[band]);
      }
    }
    for (const asset of Object.values(corrupt.assets)) {
      if (/B04_20m/.test(asset.href)) {
        files.set(
          new URL(asset.href, 'http://x/stac/').pathname,
          new TextEncoder().encode('<html>503</html>'),
        );
      }
    }
    server = createServer((req, res) => {
      if (req.url === '/stac/search' && req.method === 'POST') {
        let body = '';
        req.on('data', (c: Buffer) => {
          body += c.toString();
        });
        req.on('end', () => {
          searchCalls += 1;
          if (searchCalls === 1) {
            res.statusCode = 503; // the fetcher retries
            res.end('busy');
            return;
          }
          const search = JSON.parse(body) as {
            page?: number;
            collections: string[];
            bbox: number[];
          };
          const page = search.page ?? 0;
          res.setHeader('content-type', 'application/geo+json');
          res.end(
            JSON.stringify({
              type: 'FeatureCollection',
              features: pages[page],
              links:
                page + 1 < pages.length
                  ? [
                      {
                        rel: 'next',
                        href: '/stac/search',
                        method: 'POST',
                        body: { page: page + 1 },
                        merge: true,
                      },
                    ]
                  : [],
            }),
          );
        });
        return;
      }
      const file = files.get(new URL(req.url ?? '/', 'http://x').pathname);
      if (!file) {
        res.statusCode = 404;
        res.end();
        return;
      }
      const range = /bytes=(\d+)-(\d+)?/.exec(req.headers.range ?? '');
      if (range) {
        rangeRequests += 1;
        const start = Number(range[1]);
        const end = Math.min(range[2] ? Number(range[2]) : file.length - 1, file.length - 1);
        res.statusCode = 206;
        res.setHeader('content-range', `bytes ${start}-${end}/${file.length}`);
        bytesServed += end - start + 1;
        res.end(file.subarray(start, end + 1));
      } else {
        bytesServed += file.length;
        res.end(file);
      }
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    baseUrl = `http://127.0.0.1:${(server.address() as AddressInfo).port}/stac/`;
  });
  afterAll(async () => {
    await offline?.close();
    await redis?.quit();
    await new Promise((r) => server?.close(r));
    await iso?.cleanup();
  });

  const ingest = () => {
    const sites = [PACIFIC, ANGOLA];
    return ingestSentinel2(
      Math.floor(Date.parse('2019-01-01') / 86_400_000),
      Math.floor(Date.parse('2022-12-31') / 86_400_000),
      {
        stac: createFetcher({ baseUrl, retries: 2, timeoutMs: 5_000 }),
        sites,
        offline,
        features: {
          state: createEventState({ redis, prefix: iso.options.statePrefix }),
          sites: createSiteRegistry(sites),
          offline,
          online: createOnlineStore({ redis, keyOf: iso.onlineKey }),
          heat: null,
        },
      },
    );
  };

  it('reads one window per site and scene with range requests, skipping JPEG 2000 items', async () => {
    first = await ingest();
    expect(searchCalls).toBe(3); // one 503, then two pages
    expect(first.scenes).toBe(4);
    expect(first.observations).toBe(4);
    expect(first.masked).toBe(0);
    expect(first.skipped).toHaveLength(1);
    expect(first.skipped[0]?.itemId).toBe('S2A_T34LBQ_20220401T090142_L2A');
    expect(first.skipped[0]?.reason).toBe('unsupported_format');
    expect(first.skipped[0]?.detail).toMatch(/image\/jp2/);
    expect(first.quarantined.map((q) => [q.payload, q.reason])).toEqual([
      ['S2A_T07HFE_20190314', 'corrupt_file'],
    ]);
    const quarantine = await offline.query('SELECT source, reason FROM quarantine');
    expect(quarantine).toEqual([{ source: 'sentinel2-l2a', reason: 'corrupt_file' }]);
    const totalBytes = [...files.values()].reduce((n, f) => n + f.length, 0);
    expect(rangeRequests).toBeGreaterThan(0);
    expect(bytesServed).toBeLessThan(totalBytes / 2);
  });

  it('masks cloud, shadow, land and snow; applies the baseline offset; Nechad turbidity', async () => {
    const rows = await offline.query(
      `SELECT id, site_id, value, unit, quality, observed_at FROM satellite_samples ORDER BY observed_at`,
    );
    expect(rows).toHaveLength(4);
    const byId = new Map(rows.map((r) => [r.id as string, r]));
    for (const scene of scenes) {
      const id = `sentinel2-l2a/turbidity/${scene.site.siteId}/${(scene.item as { id: string }).id}`;
      const row = byId.get(id);
      expect(row, id).toBeDefined();
      // The bright masked pixels are 58 % of the window: unmasked, the median would be theirs.
      expect(Number(row?.value)).toBeCloseTo(expectedT(scene), 3);
      expect(Number(row?.quality)).toBeCloseTo(WATER_PIXELS / (WINDOW_PX * WINDOW_PX), 6);
      expect(row?.unit).toBe('FNU');
    }
  });

  it('keeps each window as a gridded turbidity layer for chips, water cells only, where the water is', async () => {
    const cells = await offline.query(
      `SELECT source_uri, day::VARCHAR AS day, lat, lon, value FROM grid_layers
       WHERE product = 'sentinel2-l2a' AND variable = 'turbidity'`,
    );
    expect(cells).toHaveLength(first.gridCells);
    for (const scene of scenes) {
      const id = (scene.item as { id: string }).id;
      const day = (scene.item as { properties: { datetime: string } }).properties.datetime.slice(
        0,
        10,
      );
      const own = cells.filter((c) => String(c.source_uri).includes(id) && c.day === day);
      // 13 water rows x 31 columns of 20 m (260 m x 620 m) over 0.001-degree cells.
      expect(own.length, id).toBeGreaterThanOrEqual(6);
      expect(own.length, id).toBeLessThanOrEqual(32);
      for (const c of own) {
        expect(Number(c.value)).toBeCloseTo(expectedT(scene), 3);
        // The clear water is the window's southern rows: every cell lies south of the site,
        // within the window's 310 m (0.0028 degrees) and one cell.
        expect(Number(c.lat)).toBeLessThan(scene.site.lat + 0.0005);
        expect(Number(c.lat)).toBeGreaterThan(scene.site.lat - 0.0028 - 0.001);
        expect(Math.abs(Number(c.lon) - scene.site.lon)).toBeLessThan(0.004);
      }
    }
    // The same cells as chip points for the scene's day.
    const pacific = scenes[0] as Scene;
    const day = Math.floor(
      Date.parse((pacific.item as { properties: { datetime: string } }).properties.datetime) /
        86_400_000,
    );
    const points = await offline.gridLayerPoints('sentinel2-l2a', 'turbidity', day);
    expect(points.values.length).toBeGreaterThanOrEqual(6);
    for (const v of points.values) expect(v).toBeCloseTo(expectedT(pacific), 3);
  });

  it('turbidity and its z-score against the site history reach the online store', async () => {
    const pacific = await redis.hgetall(iso.onlineKey(PACIFIC.siteId));
    const history = [0.02, 0.03, 0.01].map(nechadB4);
    const mean = history.reduce((a, b) => a + b) / 3;
    const std = Math.sqrt(history.reduce((a, b) => a + (b - mean) ** 2, 0) / 3);
    // The latest scene (4 March) is the latest turbidity, whatever the ingestion order.
    expect(Number(pacific.turbidity_ntu)).toBeCloseTo(nechadB4(0.01), 3);
    expect(Number(pacific.turbidity_zscore)).toBeCloseTo((nechadB4(0.01) - mean) / std, 3);
    expect(pacific.as_of).toBe('2019-03-04T23:59:59.999Z');
    const angola = await redis.hgetall(iso.onlineKey(ANGOLA.siteId));
    expect(Number(angola.turbidity_ntu)).toBeCloseTo(nechadB4(0.04), 3);
    expect(angola.turbidity_zscore).toBeUndefined(); // one value: no spread yet
    const offlineRows = await offline.query(
      `SELECT turbidity_ntu FROM daily_features WHERE site_id = '${PACIFIC.siteId}' ORDER BY ingested_at DESC LIMIT 1`,
    );
    expect(Number(offlineRows[0]?.turbidity_ntu)).toBeCloseTo(nechadB4(0.01), 3);
  });

  it('ingesting the same scenes again changes nothing', async () => {
    const again = await ingest();
    expect(again.observations).toBe(4);
    expect(again.featuresApplied).toBe(0);
    expect(first.featuresApplied).toBe(4);
    const count = await offline.query('SELECT count(*)::INT AS n FROM satellite_samples');
    expect(count[0]?.n).toBe(4);
    // Re-ingested windows replace their grid cells instead of doubling them.
    expect(again.gridCells).toBe(first.gridCells);
    const cells = await offline.query(
      `SELECT count(*)::INT AS n FROM grid_layers WHERE product = 'sentinel2-l2a'`,
    );
    expect(cells[0]?.n).toBe(first.gridCells);
    const pacific = await redis.hgetall(iso.onlineKey(PACIFIC.siteId));
    const history = [0.02, 0.03, 0.01].map(nechadB4);
    const mean = history.reduce((a, b) => a + b) / 3;
    const std = Math.sqrt(history.reduce((a, b) => a + (b - mean) ** 2, 0) / 3);
    expect(Number(pacific.turbidity_zscore)).toBeCloseTo((nechadB4(0.01) - mean) / std, 3);
  });
});
