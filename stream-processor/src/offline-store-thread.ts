import type { Worker } from 'node:worker_threads';
import { ConfigError, InputFormatError, ReefGuardError, startModuleWorker } from '@reefguard/core';
import type { OfflineStore, OfflineStoreOptions } from './offline-store.js';
import type { OfflineCall, OfflineReply } from './offline-store-worker.js';

/**
 * The offline store on a worker thread of its own: the same {@link OfflineStore}, every call
 * sent to the thread that owns the DuckDB file. DuckDB's appender and commit run synchronously
 * on the thread that calls them; here that is not the processor's event loop, so a batch's
 * offline commit no longer holds up the next batch's decode, state update and online write.
 * Arguments and results cross by structured clone (plain rows and typed arrays).
 */
export async function openOfflineStoreThread(
  path: string,
  options: OfflineStoreOptions = {},
): Promise<OfflineStore> {
  const worker = startWorker({ path, options });
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
    appendBatch: proxy('appendBatch'),
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
