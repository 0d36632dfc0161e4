import { readFile } from 'node:fs/promises';
import { setTimeout as sleep } from 'node:timers/promises';
import {
  type BuoyReading,
  buoyReadingSchema,
  InputFormatError,
  READING_UNITS,
  readingId,
  SCHEMA_VERSION,
} from '@reefguard/core';
import type { ReadingSource } from './reading-source.js';

export interface GeneratedReadings {
  siteId: string;
  stationId: string;
  count: number;
  startAt: string;
  intervalMs: number;
  /** Daily-cycle water temperature around this mean (degC). */
  meanSstC?: number;
}

export interface ReplaySourceOptions {
  /** A JSON-lines file of buoy readings (as the brokers carry them)... */
  file?: string;
  /** ...or readings made up on the spot, for demos, tests and benchmarks. */
  generate?: GeneratedReadings;
  /**
   * Time scale: 1 plays at the readings' real spacing, 60 a minute per second, 0 as fast as
   * the agent takes them.
   */
  speed?: number;
  /** Readings per batch handed to the agent. */
  batchSize?: number;
}

/** Plays recorded or generated readings in order; the cursor is the index of the last one. */
export function createReplaySource(options: ReplaySourceOptions): ReadingSource {
  const speed = options.speed ?? 0;
  const batchSize = options.batchSize ?? 500;
  return {
    kind: options.file ? 'replay' : 'generated',
    async *batches(signal, resumeFrom) {
      const readings = options.file
        ? (await readReplayFile(options.file)).values()
        : iterateGenerated(options.generate);
      const skip = resumeFrom === undefined ? 0 : Number(resumeFrom) + 1;
      let index = 0;
      let next = readings.next();
      for (; index < skip && !next.done; index++) next = readings.next();
      const startWall = Date.now();
      const startEvent = next.done ? 0 : Date.parse(next.value.observed_at);
      while (!next.done && !signal.aborted) {
        const batch: BuoyReading[] = [];
        while (!next.done && batch.length < batchSize) {
          const reading: BuoyReading = next.value;
          if (speed > 0) {
            const dueAt = startWall + (Date.parse(reading.observed_at) - startEvent) / speed;
            if (dueAt > Date.now()) {
              if (batch.length > 0) break;
              await sleep(dueAt - Date.now(), undefined, { signal }).catch(() => undefined);
              if (signal.aborted) break;
            }
          }
          batch.push(reading);
          index++;
          next = readings.next();
        }
        if (batch.length > 0) yield { readings: batch, cursor: String(index - 1) };
      }
    },
    async close() {},
  };
}

export async function readReplayFile(path: string): Promise<BuoyReading[]> {
  const text = await readFile(path, 'utf8');
  return text
    .split('\n')
    .filter((line) => line.trim() !== '')
    .map((line, i) => {
      const parsed = buoyReadingSchema.safeParse(JSON.parse(line));
      if (!parsed.success)
        throw new InputFormatError(
          `${path}:${i + 1} is not a buoy reading: ${parsed.error.issues[0]?.message}`,
        );
      return parsed.data;
    });
}

/** Water temperature with a daily cycle and a slow warming trend, ids stable per index. */
export function generateReadings(spec: GeneratedReadings | undefined): BuoyReading[] {
  return Array.from(iterateGenerated(spec));
}

/** The same readings one at a time, so a long replay holds none of them in memory. */
export function* iterateGenerated(spec: GeneratedReadings | undefined): Generator<BuoyReading> {
  if (!spec) throw new InputFormatError('the replay source needs a file or a generate spec');
  const start = Date.parse(spec.startAt);
  const mean = spec.meanSstC ?? 28;
  for (let i = 0; i < spec.count; i++) {
    const at = new Date(start + i * spec.intervalMs);
    const hours = (at.getTime() / 3_600_000) % 24;
    const value =
      Math.round(
        (mean +
          0.6 * Math.sin((2 * Math.PI * hours) / 24) +
          (i * spec.intervalMs) / (86_400_000 * 30)) *
          1000,
      ) / 1000;
    const observedAt = at.toISOString();
    yield {
      schema_version: SCHEMA_VERSION,
      id: readingId(spec.stationId, 'water_temperature', observedAt),
      site_id: spec.siteId,
      station_id: spec.stationId,
      parameter: 'water_temperature',
      value,
      unit: READING_UNITS.water_temperature,
      observed_at: observedAt,
      source: 'generated',
    } satisfies BuoyReading;
  }
}
