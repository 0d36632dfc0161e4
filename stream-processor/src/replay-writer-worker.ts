import { writeFile } from 'node:fs/promises';
import { parentPort, workerData } from 'node:worker_threads';
import { writeModisL3mSst } from './modis-l3m.js';

/** A replay day for a writer thread: the grid's cells (degC, NaN = no pixel) and its file. */
export interface ReplayWriteTask {
  path: string;
  productName: string;
  timeCoverageStart: string;
  sstC: Float32Array;
}

export type ReplayWriteReply = { ok: true } | { ok: false; message: string };

const { lat, lon } = workerData as { lat: Float64Array; lon: Float64Array };
const port = parentPort;

port?.on('message', (task: ReplayWriteTask) => {
  writeModisL3mSst(
    { lat, lon, sstC: task.sstC },
    { productName: task.productName, timeCoverageStart: task.timeCoverageStart, gzip: true },
  )
    .then((bytes) => writeFile(task.path, bytes))
    .then(
      () => port.postMessage({ ok: true } satisfies ReplayWriteReply),
      (e: unknown) =>
        port.postMessage({ ok: false, message: (e as Error).message } satisfies ReplayWriteReply),
    );
});
