import { createReadStream } from 'node:fs';
import { createInterface } from 'node:readline';
import type { Readable } from 'node:stream';
import {
  type BuoyReading,
  buoyReadingSchema,
  READING_UNITS,
  type ReadingParameter,
  readingId,
  SCHEMA_VERSION,
} from '@reefguard/core';
import type { ReadingSource, SourceBatch } from './reading-source.js';

export interface LineSourceOptions {
  /** `-` for stdin, or a file / serial device path (e.g. /dev/ttyUSB0 set up with stty). */
  path: string;
  siteId: string;
  /** Default station for lines that do not name one. */
  stationId: string;
  /** Lines per batch; a partial batch is handed over after `flushMs` of quiet. */
  batchSize?: number;
  flushMs?: number;
  stdin?: Readable;
}

/**
 * A line-oriented sensor feed, as loggers and serial bridges write it. Each line is either a
 * JSON object (`{"parameter": "water_temperature", "value": 28.4, "observed_at": "..."}`,
 * station and site optional) or CSV `observed_at,parameter,value[,station_id]`. Bad lines are
 * rejected with a reason, never guessed. A device feed has no resume point: the cursor is
 * the line count since start.
 */
export function createLineSource(options: LineSourceOptions): ReadingSource {
  const batchSize = options.batchSize ?? 100;
  const flushMs = options.flushMs ?? 200;
  let stream: Readable | undefined;
  return {
    kind: 'serial',
    async *batches(signal) {
      stream =
        options.path === '-' ? (options.stdin ?? process.stdin) : createReadStream(options.path);
      const lines = createInterface({ input: stream, crlfDelay: Number.POSITIVE_INFINITY });
      signal.addEventListener('abort', () => lines.close(), { once: true });
      let batch: SourceBatch = { readings: [], cursor: '0', rejected: [] };
      let count = 0;
      let lastFlush = Date.now();
      for await (const line of lines) {
        count++;
        if (line.trim() === '') continue;
        const result = parseLine(line, options);
        if ('reading' in result) batch.readings.push(result.reading);
        else batch.rejected?.push({ reason: result.reason, record: line });
        if (batch.readings.length >= batchSize || Date.now() - lastFlush >= flushMs) {
          yield { ...batch, cursor: String(count) };
          batch = { readings: [], cursor: String(count), rejected: [] };
          lastFlush = Date.now();
        }
      }
      if (batch.readings.length > 0 || (batch.rejected?.length ?? 0) > 0)
        yield { ...batch, cursor: String(count) };
    },
    async close() {
      if (options.path !== '-') stream?.destroy();
    },
  };
}

export function parseLine(
  line: string,
  defaults: { siteId: string; stationId: string },
): { reading: BuoyReading } | { reason: string } {
  let raw: Record<string, unknown>;
  if (line.trimStart().startsWith('{')) {
    try {
      raw = JSON.parse(line) as Record<string, unknown>;
    } catch {
      return { reason: 'not valid JSON' };
    }
  } else {
    const [observed_at, parameter, value, station_id] = line.split(',').map((s) => s.trim());
    raw = { observed_at, parameter, value: Number(value), ...(station_id ? { station_id } : {}) };
  }
  const parameter = raw.parameter as ReadingParameter;
  if (!(parameter in READING_UNITS))
    return { reason: `unknown parameter ${String(raw.parameter)}` };
  const stationId = typeof raw.station_id === 'string' ? raw.station_id : defaults.stationId;
  const observedAt = typeof raw.observed_at === 'string' ? raw.observed_at : '';
  if (Number.isNaN(Date.parse(observedAt))) return { reason: `invalid observed_at ${observedAt}` };
  const iso = new Date(observedAt).toISOString();
  const parsed = buoyReadingSchema.safeParse({
    schema_version: SCHEMA_VERSION,
    site_id: defaults.siteId,
    unit: READING_UNITS[parameter],
    source: 'serial',
    ...raw,
    station_id: stationId,
    observed_at: iso,
    id: readingId(stationId, parameter, iso),
  });
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    return { reason: `${issue?.path.join('.')}: ${issue?.message}` };
  }
  return { reading: parsed.data };
}
