import type { Worker } from 'node:worker_threads';
import { ConfigError, InputFormatError, ReefGuardError, startModuleWorker } from '@reefguard/core';
import {
  type FeatureRow,
  OFFLINE_THREAD_DUCKDB_THREADS,
  type OfflineStore,
  type OfflineStoreOptions,
  STREAM_FEATURES,
  type StoredReading,
} from './offline-store.js';
import type { OfflineCall, OfflineReply } from './offline-store-worker.js';

/**
 * The offline store on a worker thread of its own: the same {@link OfflineStore}, every call
 * sent to the thread that owns the DuckDB file. DuckDB's appender and commit run synchronously
 * on the thread that calls them; here that is not the processor's event loop, so a batch's
 * offline commit no longer holds up the next batch's decode, state update and online write.
 * Arguments and results cross by structured clone (plain rows and typed arrays). DuckDB runs
 * on that one thread too (`threads` {@link OFFLINE_THREAD_DUCKDB_THREADS} unless given): no
 * worker pool of its own competing with the processor's event loop for the cores.
 */
export async function openOfflineStoreThread(
  path: string,
  options: OfflineStoreOptions = {},
): Promise<OfflineStore> {
  const worker = startWorker({
    path,
    options: { threads: OFFLINE_THREAD_DUCKDB_THREADS, ...options },
  });
  const pending = new Map<number, { resolve(v: unknown): void; reject(e: Error): void }>();
  let nextId = 1;
  let dead: Error | null = null;
  const fail = (error: Error) => {
    dead ??= error;
    worker.unref();
    for (const p of pending.values()) p.reject(error);
    pending.clear();
  };
  const opened = new Promise<void>((resolve, reject) => {
    pending.set(0, { resolve: () => resolve(), reject });
  });
  worker.on('message', (reply: OfflineReply) => {
    const p = pending.get(reply.id);
    if (!p) return;
    pending.delete(reply.id);
    // Keep the process alive only while a call is out.
    if (pending.size === 0) worker.unref();
    if (reply.ok) p.resolve(reply.value);
    else p.reject(remoteError(reply.name, reply.message));
  });
  worker.on('error', (cause) =>
    fail(new ReefGuardError('offline store thread crashed', { cause })),
  );
  worker.on('exit', (code) =>
    fail(new ReefGuardError(`offline store thread exited (code ${code})`)),
  );
  try {
    await opened;
  } catch (e) {
    await worker.terminate();
    throw e;
  }
  const call = (method: OfflineCall['method'], args: unknown[]): Promise<never> => {
    if (dead) return Promise.reject(dead);
    const id = nextId++;
    return new Promise((resolve, reject) => {
      pending.set(id, { resolve: resolve as (v: unknown) => void, reject });
      worker.ref();
      worker.postMessage({ id, method, args } satisfies OfflineCall);
    });
  };
  const proxy =
    (method: OfflineCall['method']) =>
    (...args: unknown[]) =>
      call(method, args);
  return {
    appendReadings: proxy('appendReadings'),
    appendLate: proxy('appendLate'),
    appendBatch: options.legacyStatements
      ? proxy('appendBatch')
      : (batch) => call('appendBatch', [packBatch(batch)]),
    appendQuarantine: proxy('appendQuarantine'),
    appendFeatures: proxy('appendFeatures'),
    appendSatellite: proxy('appendSatellite'),
    appendGrid: proxy('appendGrid'),
    gridDhwChipPoints: proxy('gridDhwChipPoints'),
    gridLayerPoints: proxy('gridLayerPoints'),
    featuresAsOf: proxy('featuresAsOf'),
    query: proxy('query'),
    exportFeatureSet: proxy('exportFeatureSet'),
    exportParquet: proxy('exportParquet'),
    async close() {
      if (dead) return;
      await call('close', []);
      dead = new ReefGuardError('offline store is closed');
      await worker.terminate();
    },
  };
}

type Batch = Parameters<OfflineStore['appendBatch']>[0];

/**
 * A batch as `appendBatch` sends it to the thread: its new readings and feature rows (all but a
 * few of its rows) as columns, a few arrays and strings instead of ~120 objects of 10-16 keys
 * each, so the copy costs the processor's event loop a fraction of cloning the objects; the
 * rare repeated, late and quarantined rows go as they are.
 */
export interface PackedBatch {
  /** Per new reading: id, site_id, station_id, parameter, unit, source, observed_at. */
  readingText: string[];
  /** Per new reading: value, observed ms, ingested ms. */
  readingNumbers: Float64Array;
  featureSites: string[];
  /** Per feature row: day, ingested ms. */
  featureTimes: Float64Array;
  /** Row-major, one per row and STREAM_FEATURES entry; `featureMissing` 1 where null. */
  featureValues: Float64Array;
  featureMissing: Uint8Array;
  repeated: Batch['repeated'];
  quarantined: Batch['quarantined'];
  late: Batch['late'];
}

const READING_TEXT = 7;
const READING_NUMBERS = 3;

/** Builds the {@link PackedBatch} of a batch (on the processor's thread). */
export function packBatch(batch: Batch): PackedBatch {
  const { fresh, features } = batch;
  const readingText = new Array<string>(fresh.length * READING_TEXT);
  const readingNumbers = new Float64Array(fresh.length * READING_NUMBERS);
  fresh.forEach((row, i) => {
    const r = row.reading;
    const t = i * READING_TEXT;
    readingText[t] = r.id;
    readingText[t + 1] = r.site_id;
    readingText[t + 2] = r.station_id;
    readingText[t + 3] = r.parameter;
    readingText[t + 4] = r.unit;
    readingText[t + 5] = r.source;
    readingText[t + 6] = r.observed_at;
    const n = i * READING_NUMBERS;
    readingNumbers[n] = r.value;
    readingNumbers[n + 1] = row.observedMs;
    readingNumbers[n + 2] = row.ingestedMs;
  });
  const width = STREAM_FEATURES.length;
  const featureValues = new Float64Array(features.length * width);
  const featureMissing = new Uint8Array(features.length * width);
  const featureTimes = new Float64Array(features.length * 2);
  features.forEach((row, i) => {
    featureTimes[i * 2] = row.day;
    featureTimes[i * 2 + 1] = row.ingestedMs;
    STREAM_FEATURES.forEach((f, j) => {
      const v = row.values[f];
      if (v === null || v === undefined) featureMissing[i * width + j] = 1;
      else featureValues[i * width + j] = v;
    });
  });
  return {
    readingText,
    readingNumbers,
    featureSites: features.map((row) => row.siteId),
    featureTimes,
    featureValues,
    featureMissing,
    repeated: batch.repeated,
    quarantined: batch.quarantined,
    late: batch.late,
  };
}

/** The batch a {@link PackedBatch} was built from (on the store's thread). */
export function unpackBatch(packed: PackedBatch): Batch {
  const { readingText: text, readingNumbers: numbers } = packed;
  const fresh: StoredReading[] = [];
  for (let i = 0; i < numbers.length / READING_NUMBERS; i++) {
    const t = i * READING_TEXT;
    const n = i * READING_NUMBERS;
    fresh.push({
      reading: {
        schema_version: 1,
        id: text[t] as string,
        site_id: text[t + 1] as string,
        station_id: text[t + 2] as string,
        parameter: text[t + 3] as StoredReading['reading']['parameter'],
        unit: text[t + 4] as string,
        source: text[t + 5] as StoredReading['reading']['source'],
        observed_at: text[t + 6] as string,
        value: numbers[n] as number,
      },
      observedMs: numbers[n + 1] as number,
      ingestedMs: numbers[n + 2] as number,
    });
  }
  const width = STREAM_FEATURES.length;
  const features: FeatureRow[] = packed.featureSites.map((siteId, i) => {
    const values: FeatureRow['values'] = {};
    STREAM_FEATURES.forEach((f, j) => {
      values[f] = packed.featureMissing[i * width + j] ? null : packed.featureValues[i * width + j];
    });
    return {
      siteId,
      day: packed.featureTimes[i * 2] as number,
      ingestedMs: packed.featureTimes[i * 2 + 1] as number,
      values,
    };
  });
  return {
    fresh,
    repeated: packed.repeated,
    quarantined: packed.quarantined,
    late: packed.late,
    features,
  };
}

/** The error as thrown in the thread, as far as its class is one of core's. */
function remoteError(name: string, message: string): Error {
  if (name === 'InputFormatError') return new InputFormatError(message);
  if (name === 'ConfigError') return new ConfigError(message);
  if (name === 'RangeError') return new RangeError(message);
  const error = new ReefGuardError(message);
  error.name = name;
  return error;
}

/** The offline store's thread (`offline-store-worker`). */
function startWorker(workerData: { path: string; options: OfflineStoreOptions }): Worker {
  return startModuleWorker(
    import.meta.url,
    'offline-store-worker',
    { workerData },
    'the offline store thread',
  );
}
