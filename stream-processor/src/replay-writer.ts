import { writeFile } from 'node:fs/promises';
import { availableParallelism } from 'node:os';
import type { Worker } from 'node:worker_threads';
import { ReefGuardError, startModuleWorker } from '@reefguard/core';
import { writeModisL3mSst } from './modis-l3m.js';
import type { ReplayWriteReply, ReplayWriteTask } from './replay-writer-worker.js';

/**
 * Writes the replay's L3m files on worker threads: HDF5 (h5wasm, WebAssembly) runs on the
 * thread that calls it, so one thread writes one file at a time; a season of 152 files of 1.3 M
 * cells each keeps every core busy instead of one. Below `REPLAY_MIN_CELLS_PER_THREAD` cells per
 * file a thread (its own h5wasm instance, ~0.3 s to start) costs more than it saves.
 */
export const REPLAY_MIN_CELLS_PER_THREAD = 100_000;

export interface ReplayFileWriter {
  /**
   * Hands one file to a free thread (waits for one; await each call before the next);
   * `task.sstC` is moved, not copied.
   */
  write(task: ReplayWriteTask): Promise<void>;
  /** Waits for every file handed over; the first failure, if any. */
  drain(): Promise<void>;
  close(): Promise<void>;
}

export function createReplayFileWriter(
  grid: { lat: Float64Array; lon: Float64Array },
  options: { threads?: number; onWritten?: () => void } = {},
): ReplayFileWriter {
  const cells = grid.lat.length * grid.lon.length;
  const threads =
    options.threads ??
    (cells >= REPLAY_MIN_CELLS_PER_THREAD ? Math.min(2, availableParallelism()) : 1);
  if (threads <= 1) return inThreadWriter(grid, options.onWritten);
  let failure: Error | null = null;
  const lanes = Array.from({ length: threads }, () => openLane(grid));
  for (const lane of lanes) {
    // A thread that dies (also before its first file) fails the writer, never hangs it.
    const fail = (message: string) => {
      failure ??= new ReefGuardError(message);
      lane.done({ ok: false, message });
    };
    lane.worker.on('error', (cause) => fail(`writer thread crashed: ${cause.message}`));
    lane.worker.on('exit', (code) => fail(`writer thread exited (code ${code})`));
  }
  const track = (lane: Lane, task: ReplayWriteTask) => {
    lane.busy = new Promise<void>((resolve) => {
      lane.done = (reply) => {
        if (!reply.ok) failure ??= new ReefGuardError(`writing ${task.path}: ${reply.message}`);
        else options.onWritten?.();
        resolve();
      };
    });
    lane.worker.postMessage(task, [task.sstC.buffer as ArrayBuffer]);
  };
  return {
    async write(task) {
      if (failure) throw failure;
      let lane = lanes.find((l) => l.busy === null);
      if (!lane) {
        lane = await Promise.race(lanes.map((l) => (l.busy as Promise<void>).then(() => l)));
      }
      lane.busy = null;
      if (failure) throw failure;
      track(lane, task);
    },
    async drain() {
      await Promise.all(lanes.map((l) => l.busy));
      for (const l of lanes) l.busy = null;
      if (failure) throw failure;
    },
    async close() {
      for (const l of lanes) l.worker.removeAllListeners('exit');
      await Promise.all(lanes.map((l) => l.worker.terminate()));
    },
  };
}

function inThreadWriter(
  grid: { lat: Float64Array; lon: Float64Array },
  onWritten?: () => void,
): ReplayFileWriter {
  return {
    async write(task) {
      const bytes = await writeModisL3mSst(
        { lat: grid.lat, lon: grid.lon, sstC: task.sstC },
        { productName: task.productName, timeCoverageStart: task.timeCoverageStart, gzip: true },
      );
      await writeFile(task.path, bytes);
      onWritten?.();
    },
    async drain() {},
    async close() {},
  };
}

interface Lane {
  worker: Worker;
  busy: Promise<void> | null;
  done: (reply: ReplayWriteReply) => void;
}

function openLane(grid: { lat: Float64Array; lon: Float64Array }): Lane {
  const lane: Lane = {
    worker: startWorker({ lat: grid.lat, lon: grid.lon }),
    busy: null,
    done: () => undefined,
  };
  lane.worker.on('message', (reply: ReplayWriteReply) => lane.done(reply));
  return lane;
}

/** A replay writer thread (`replay-writer-worker`) for one grid. */
function startWorker(workerData: { lat: Float64Array; lon: Float64Array }): Worker {
  return startModuleWorker(
    import.meta.url,
    'replay-writer-worker',
    { workerData },
    'replay writer threads',
  );
}
