import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { type BuoyReading, READING_UNITS, readingId, SCHEMA_VERSION } from '@reefguard/core';
import { routeVariant } from '@reefguard/serving';
import {
  calibrateHeatwave,
  loadReplayPixels,
  type ReplayPixel,
  seasonDays,
  seasonSst,
} from '@reefguard/stream-processor';

/** One buoy a gateway carries: its reef site, and which side of the canary split it is on. */
export interface GatewaySite {
  pixel: ReplayPixel;
  stationId: string;
  /** serving's sticky per-site split at the demo's canary weight. */
  cohort: 'champion' | 'challenger';
  peakSstC: number;
}

/** One simulated buoy gateway: where it stands, the buoys it carries and their readings. */
export interface Gateway {
  agentId: string;
  stationId: string;
  /** The gateway's own site (its local features and alerts): the first of `sites`. */
  pixel: ReplayPixel;
  sites: GatewaySite[];
  readingsFile: string;
  /** Readings of all its buoys together. */
  readings: number;
  readingsPerSite: number;
  peakSstC: number;
}

/** Latitude bands along the reef, north to south: one gateway in each. */
export const GATEWAY_BANDS: readonly [number, number][] = [
  [-14.5, -11],
  [-17.5, -14.5],
  [-20.5, -17.5],
  [-24.5, -20.5],
];

export const DEFAULT_READING_INTERVAL_HOURS = 3;
/** Buoys per gateway: 4 gateways carry 16 live sites, one per gateway in the canary cohort. */
export const DEFAULT_SITES_PER_GATEWAY = 4;
/** Half the day-night swing of water temperature at a buoy (degC). */
const DIURNAL_HALF_RANGE_C = 0.25;

/**
 * Picks the reef pixels each gateway carries, `sitesPerGateway` per latitude band: first the
 * one at the band's 90th percentile of the season's shipped annual maximum DHW (so the heat
 * wave shows; the gateway's own site), then the pixels nearest that percentile, so that each
 * gateway carries exactly one site of serving's challenger cohort at `canaryWeight` (sticky
 * per site) and the rest in the champion's: a canary then has live sites on both sides (with
 * 16 sites drawn blindly at 10 %, none is a challenger site 18 % of the time). Writes each
 * gateway's readings as JSON lines in time order: the replay season's calibrated daily SST
 * (the same curve the satellite files carry) with a day-night cycle, every `intervalHours`.
 */
export async function writeGatewayReadings(options: {
  root: string;
  year: number;
  outDir: string;
  gateways?: number;
  sitesPerGateway?: number;
  canaryWeight: number;
  intervalHours?: number;
}): Promise<Gateway[]> {
  const intervalHours = options.intervalHours ?? DEFAULT_READING_INTERVAL_HOURS;
  const perGateway = options.sitesPerGateway ?? DEFAULT_SITES_PER_GATEWAY;
  const all = await loadReplayPixels(join(options.root, 'data/sample'), options.year);
  const bands = GATEWAY_BANDS.slice(0, options.gateways ?? GATEWAY_BANDS.length);
  const cohortOf = (p: ReplayPixel) => routeVariant(p.siteId, options.canaryWeight);
  const chosen = bands.map(([south, north]) => {
    const inBand = all
      .filter((p) => p.lat >= south && p.lat < north)
      .sort((a, b) => a.targetDhw - b.targetDhw);
    const at = Math.floor(inBand.length * 0.9);
    const byNearness = inBand
      .map((pixel, i) => ({ pixel, distance: Math.abs(i - at) }))
      .sort((a, b) => a.distance - b.distance)
      .map((c) => c.pixel);
    const [own, ...rest] = byNearness;
    if (!own) throw new RangeError(`no reef pixel between latitudes ${south} and ${north}`);
    const wanted = (cohort: 'champion' | 'challenger', n: number) =>
      rest.filter((p) => cohortOf(p) === cohort).slice(0, Math.max(0, n));
    const challengers = cohortOf(own) === 'challenger' ? 0 : 1;
    const picked = [
      own,
      ...wanted('challenger', Math.min(challengers, perGateway - 1)),
      ...wanted('champion', perGateway - 1 - challengers),
    ];
    if (picked.length < perGateway) {
      throw new RangeError(
        `only ${picked.length} of ${perGateway} sites between latitudes ${south} and ${north}`,
      );
    }
    return picked;
  });
  const pixels = chosen.flat();
  const days = seasonDays(options.year);
  const sst = seasonSst(pixels, days, calibrateHeatwave(pixels, days, options.year), options.year);
  await mkdir(options.outDir, { recursive: true });
  const perDay = Math.round(24 / intervalHours);
  let offset = 0;
  return Promise.all(
    chosen.map(async (group) => {
      const first = offset;
      offset += group.length;
      const own = group[0] as ReplayPixel;
      const agentId = `gw-${chosen.indexOf(group) + 1}-${own.siteId}`;
      const sites: GatewaySite[] = group.map((pixel) => ({
        pixel,
        stationId: `buoy-${pixel.siteId}`,
        cohort: cohortOf(pixel),
        peakSstC: -Infinity,
      }));
      const lines: string[] = [];
      for (const [t, day] of days.entries()) {
        for (let k = 0; k < perDay; k++) {
          const hour = k * intervalHours;
          const observedAt = new Date((day * 24 + hour) * 3_600_000).toISOString();
          for (const [s, site] of sites.entries()) {
            const daily = sst[t * pixels.length + first + s] as number;
            site.peakSstC = Math.max(site.peakSstC, daily);
            const value = daily + DIURNAL_HALF_RANGE_C * Math.sin((2 * Math.PI * (hour - 9)) / 24);
            const reading: BuoyReading = {
              schema_version: SCHEMA_VERSION,
              id: readingId(site.stationId, 'water_temperature', observedAt),
              site_id: site.pixel.siteId,
              station_id: site.stationId,
              parameter: 'water_temperature',
              value: Math.round(value * 1000) / 1000,
              unit: READING_UNITS.water_temperature,
              observed_at: observedAt,
              lat: site.pixel.lat,
              lon: site.pixel.lon,
              source: 'replay',
            };
            lines.push(JSON.stringify(reading));
          }
        }
      }
      const readingsFile = join(options.outDir, `${agentId}.jsonl`);
      await writeFile(readingsFile, `${lines.join('\n')}\n`);
      return {
        agentId,
        stationId: (sites[0] as GatewaySite).stationId,
        pixel: own,
        sites,
        readingsFile,
        readings: lines.length,
        readingsPerSite: days.length * perDay,
        peakSstC: (sites[0] as GatewaySite).peakSstC,
      };
    }),
  );
}
