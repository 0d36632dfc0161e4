import { parentPort, workerData } from 'node:worker_threads';
import { type OfflineStore, type OfflineStoreOptions, openOfflineStore } from './offline-store.js';
import { type PackedBatch, unpackBatch } from './offline-store-thread.js';

/**
 * The worker side of {@link openOfflineStoreThread}: owns the DuckDB file and runs each call it
 * is sent in arrival order (the store serialises its statements itself), answering with the
 * value or the error's name and message.
 */
export interface OfflineCall {
  id: number;
  method: keyof OfflineStore;
  args: unknown[];
}

export type OfflineReply =
  | { id: number; ok: true; value: unknown }
  | { id: number; ok: false; name: string; message: string };

const port = parentPort;
if (!port) throw new Error('offline-store-worker runs as a worker thread only');
const { path, options } = workerData as { path: string; options: OfflineStoreOptions };

let store: OfflineStore;
try {
  store = await openOfflineStore(path, options);
  port.postMessage({ id: 0, ok: true, value: null } satisfies OfflineReply);
} catch (e) {
  const error = e as Error;
  port.postMessage({ id: 0, ok: false, name: error.name, message: error.message });
  port.close();
}

port.on('message', (call: OfflineCall) => {
  const method = store[call.method] as (...args: unknown[]) => Promise<unknown>;
  const args =
    call.method === 'appendBatch' && isPacked(call.args[0])
      ? [unpackBatch(call.args[0])]
      : call.args;
  method(...args).then(
    (value) => port.postMessage({ id: call.id, ok: true, value } satisfies OfflineReply),
    (e: unknown) => {
      const error = e instanceof Error ? e : new Error(String(e));
      port.postMessage({
        id: call.id,
        ok: false,
        name: error.name,
        message: error.message,
      } satisfies OfflineReply);
    },
  );
});

function isPacked(arg: unknown): arg is PackedBatch {
  return typeof arg === 'object' && arg !== null && 'readingNumbers' in arg;
}
