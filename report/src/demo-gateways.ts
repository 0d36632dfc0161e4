import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { type BuoyReading, READING_UNITS, readingId, SCHEMA_VERSION } from '@reefguard/core';
import {
  calibrateHeatwave,
  loadReplayPixels,
  type ReplayPixel,
  seasonDays,
  seasonSst,
} from '@reefguard/stream-processor';

/** One simulated buoy gateway: where it stands and the readings it will replay. */
export interface Gateway {
  agentId: string;
  stationId: string;
  pixel: ReplayPixel;
  readingsFile: string;
  readings: number;
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
/** Half the day-night swing of water temperature at a buoy (degC). */
const DIURNAL_HALF_RANGE_C = 0.25;

/**
 * Picks one reef pixel per latitude band (the one at the band's 90th percentile of the
 * season's shipped annual maximum DHW, so the heat wave shows) and writes each gateway's
 * readings as JSON lines: the replay season's calibrated daily SST (the same curve the
 * satellite files carry) with a day-night cycle, every `intervalHours`.
 */
export async function writeGatewayReadings(options: {
  root: string;
  year: number;
  outDir: string;
  gateways?: number;
  intervalHours?: number;
}): Promise<Gateway[]> {
  const intervalHours = options.intervalHours ?? DEFAULT_READING_INTERVAL_HOURS;
  const all = await loadReplayPixels(join(options.root, 'data/sample'), options.year);
  const bands = GATEWAY_BANDS.slice(0, options.gateways ?? GATEWAY_BANDS.length);
  const chosen = bands.flatMap(([south, north]) => {
    const inBand = all
      .filter((p) => p.lat >= south && p.lat < north)
      .sort((a, b) => a.targetDhw - b.targetDhw);
    const pick = inBand[Math.floor(inBand.length * 0.9)];
    return pick ? [pick] : [];
  });
  const days = seasonDays(options.year);
  const sst = seasonSst(chosen, days, calibrateHeatwave(chosen, days, options.year), options.year);
  await mkdir(options.outDir, { recursive: true });
  const perDay = Math.round(24 / intervalHours);
  return Promise.all(
    chosen.map(async (pixel, p) => {
      const agentId = `gw-${p + 1}-${pixel.siteId}`;
      const stationId = `buoy-${pixel.siteId}`;
      const lines: string[] = [];
      let peak = -Infinity;
      for (const [t, day] of days.entries()) {
        const daily = sst[t * chosen.length + p] as number;
        peak = Math.max(peak, daily);
        for (let k = 0; k < perDay; k++) {
          const hour = k * intervalHours;
          const observedAt = new Date((day * 24 + hour) * 3_600_000).toISOString();
          const value = daily + DIURNAL_HALF_RANGE_C * Math.sin((2 * Math.PI * (hour - 9)) / 24);
          const reading: BuoyReading = {
            schema_version: SCHEMA_VERSION,
            id: readingId(stationId, 'water_temperature', observedAt),
            site_id: pixel.siteId,
            station_id: stationId,
            parameter: 'water_temperature',
            value: Math.round(value * 1000) / 1000,
            unit: READING_UNITS.water_temperature,
            observed_at: observedAt,
            lat: pixel.lat,
            lon: pixel.lon,
            source: 'replay',
          };
          lines.push(JSON.stringify(reading));
        }
      }
      const readingsFile = join(options.outDir, `${agentId}.jsonl`);
      await writeFile(readingsFile, `${lines.join('\n')}\n`);
      return { agentId, stationId, pixel, readingsFile, readings: lines.length, peakSstC: peak };
    }),
  );
}
