import { availableParallelism } from 'node:os';
import type { Worker } from 'node:worker_threads';
import { ValidationError } from '../errors.js';
import { startModuleWorker } from '../worker-module.js';
import { type CrwState, type CrwStateData, checkCrwStep, crwStateData } from './crw-state.js';
import { type CrwDayOutput, type CrwStateArrays, stepCrwRows } from './crw-step.js';
import type { CrwWorkerReply, CrwWorkerTask } from './crw-worker.js';

/**
 * Below this many pixels with state per thread, a thread costs more in messages than it saves
 * (a day of 16,384 pixels takes ~0.3 ms on one core).
 */
export const CRW_MIN_PIXELS_PER_THREAD = 16_384;

export interface CrwGridOptions {
  /** Worker threads; default: the machine's available parallelism. 1 = the calling thread. */
  threads?: number;
  /**
   * Fewer threads when the sea pixels per thread would fall below this; default
   * CRW_MIN_PIXELS_PER_THREAD (one day per message). Blocks of many days amortise messages over
   * more work and may go lower.
   */
  minPixelsPerThread?: number;
}

/** Steps one shared `CrwState` on worker threads, each owning a contiguous range of pixels. */
export interface CrwGridUpdater {
  readonly state: CrwState;
  /** Threads in use (1 = the calling thread, no workers). */
  readonly threads: number;
  /** `stepCrwDay` over all threads. Await each call before the next. */
  step(day: number, sstC: Float32Array | Float64Array, out: CrwDayOutput): Promise<void>;
  /**
   * Several consecutive days at once, one message per thread: row t of `sstC` (time-major,
   * `days.length` x pixels) is day `days[t]`, outputs laid out alike (`createCrwDayOutput(pixels,
   * { days, shared: true })`). For a whole history, step blocks of days.
   */
  stepDays(
    days: ArrayLike<number>,
    sstC: Float32Array | Float64Array,
    out: CrwDayOutput,
  ): Promise<void>;
  close(): Promise<void>;
}

const isShared = (array: ArrayBufferView) => array.buffer instanceof SharedArrayBuffer;

/** Grid pixel boundaries of `parts` ranges holding about equal numbers of state pixels. */
function splitPixels(s: CrwStateArrays, parts: number): number[] {
  const bounds = [0];
  const runs = s.runs;
  let r = 0;
  for (let k = 1; k < parts; k++) {
    const target = Math.round((k * s.statePixels) / parts);
    while (r < runs.length && runs[r + 2]! + runs[r + 1]! - runs[r]! < target) r += 3;
    bounds.push(r < runs.length ? runs[r]! + target - runs[r + 2]! : s.pixels);
  }
  bounds.push(s.pixels);
  return bounds;
}

/** The CRW worker thread (`crw-worker`) over the shared state arrays. */
function startWorker(state: CrwStateArrays): Worker {
  return startModuleWorker(import.meta.url, 'crw-worker', { workerData: state }, 'CRW threads');
}

/** One worker and its pending task. */
interface Lane {
  worker: Worker;
  pending: { resolve: () => void; reject: (error: Error) => void } | null;
  failure: Error | null;
}

function openLane(state: CrwStateArrays): Lane {
  const lane: Lane = { worker: startWorker(state), pending: null, failure: null };
  const fail = (error: Error) => {
    lane.failure = error;
    lane.pending?.reject(error);
    lane.pending = null;
  };
  lane.worker.on('message', (reply: CrwWorkerReply) => {
    const pending = lane.pending;
    lane.pending = null;
    if (reply.error === undefined) pending?.resolve();
    else pending?.reject(new Error(`CRW worker failed: ${reply.error}`));
  });
  lane.worker.on('error', (error) => fail(new Error('CRW worker crashed', { cause: error })));
  lane.worker.on('exit', (code) => fail(new Error(`CRW worker exited (code ${code})`)));
  lane.worker.unref();
  return lane;
}

function runLane(lane: Lane, task: CrwWorkerTask): Promise<void> {
  if (lane.failure) return Promise.reject(lane.failure);
  // Referenced only while a task runs: an idle updater never keeps the process alive.
  lane.worker.ref();
  return new Promise<void>((resolve, reject) => {
    lane.pending = { resolve, reject };
    lane.worker.postMessage(task);
  }).finally(() => lane.worker.unref());
}

/** The same typed array type on shared memory, `length` long, reused while big enough. */
function scratchLike<T extends Float32Array | Float64Array | Uint8Array>(
  array: T,
  length: number,
  current: T | undefined,
): T {
  if (current && current.constructor === array.constructor && current.length >= length) {
    return current.subarray(0, length) as T;
  }
  const make = array.constructor as new (buffer: SharedArrayBuffer) => T;
  return new make(new SharedArrayBuffer(length * array.BYTES_PER_ELEMENT));
}

/**
 * Steps a CRW state (`createCrwState` / `restoreCrwState`) on worker threads: the grid is cut
 * into one contiguous pixel range per thread with equal numbers of sea pixels; each day (or
 * block of days) is one message per thread, and state, SST and outputs are shared memory.
 * SST and outputs not on SharedArrayBuffers are copied through shared scratch arrays; allocate
 * them with `createCrwDayOutput(n, { shared: true })` / `sharedArray` to avoid the copies.
 * Same numbers as `stepCrwDay`. Small states (under CRW_MIN_PIXELS_PER_THREAD sea pixels per
 * thread) step on the calling thread. The state must not be stepped elsewhere meanwhile.
 */
export function createCrwGridUpdater(
  state: CrwState,
  options: CrwGridOptions = {},
): CrwGridUpdater {
  const s: CrwStateData = crwStateData(state);
  const wanted = options.threads ?? availableParallelism();
  if (!Number.isInteger(wanted) || wanted < 1) {
    throw new ValidationError(`threads must be a whole number >= 1, not ${wanted}`, 'crw-threads');
  }
  const minPixels = options.minPixelsPerThread ?? CRW_MIN_PIXELS_PER_THREAD;
  const threads = Math.max(1, Math.min(wanted, Math.floor(s.statePixels / minPixels)));
  // The worker gets the arrays only; `day` stays with this thread.
  const arrays: CrwStateArrays = {
    pixels: s.pixels,
    statePixels: s.statePixels,
    runs: s.runs,
    mmmC: s.mmmC,
    ring: s.ring,
    window: s.window,
    levels: s.levels,
  };
  const lanes = threads > 1 ? Array.from({ length: threads }, () => openLane(arrays)) : [];
  const bounds = splitPixels(s, threads);
  let busy = false;
  let closed = false;
  let broken: Error | null = null;
  let sstScratch: Float32Array | Float64Array | undefined;
  let outScratch: CrwDayOutput | undefined;
  let nextId = 0;

  const stepDays = async (
    daysIn: ArrayLike<number>,
    sstC: Float32Array | Float64Array,
    out: CrwDayOutput,
  ): Promise<void> => {
    if (closed) throw new ValidationError('the CRW grid updater is closed', 'crw-closed');
    if (busy) {
      throw new ValidationError('a CRW grid step is still running: await each step', 'crw-busy');
    }
    if (broken) throw broken;
    const days = Int32Array.from(daysIn);
    if (days.length === 0) return;
    checkCrwStep(s, days, sstC.length, out);
    const n = s.pixels * days.length;
    if (lanes.length === 0) {
      stepCrwRows(s, days, s.day, sstC, out, 0, s.pixels);
      s.day = days[days.length - 1]!;
      return;
    }
    busy = true;
    try {
      let sst = sstC;
      if (!isShared(sst)) {
        sstScratch = scratchLike(sst, n, sstScratch);
        sstScratch.set(sst);
        sst = sstScratch;
      }
      const direct = [out.hotspot, out.dhw, out.alertLevel, out.alertLevel7dMax].every(isShared);
      if (!direct) {
        outScratch = {
          hotspot: scratchLike(out.hotspot, n, outScratch?.hotspot),
          dhw: scratchLike(out.dhw, n, outScratch?.dhw),
          alertLevel: scratchLike(out.alertLevel, n, outScratch?.alertLevel),
          alertLevel7dMax: scratchLike(out.alertLevel7dMax, n, outScratch?.alertLevel7dMax),
        };
      }
      const target = direct ? out : outScratch!;
      const id = nextId++;
      const done = Promise.all(
        lanes.map((lane, k) =>
          runLane(lane, {
            id,
            days,
            previousDay: s.day,
            sstC: sst,
            out: target,
            from: bounds[k]!,
            to: bounds[k + 1]!,
          }),
        ),
      );
      try {
        await done;
      } catch (cause) {
        // Some ranges may have stepped, others not: the state is no longer one day.
        broken = new ValidationError(
          'a CRW worker failed; the grid state is inconsistent: restore it',
          'crw-worker',
          { cause },
        );
        throw broken;
      }
      if (!direct) {
        out.hotspot.set(target.hotspot.subarray(0, n));
        out.dhw.set(target.dhw.subarray(0, n));
        out.alertLevel.set(target.alertLevel.subarray(0, n));
        out.alertLevel7dMax.set(target.alertLevel7dMax.subarray(0, n));
      }
      s.day = days[days.length - 1]!;
    } finally {
      busy = false;
    }
  };

  return {
    state,
    threads,
    step: (day, sstC, out) => stepDays([day], sstC, out),
    stepDays,
    async close() {
      closed = true;
      await Promise.all(lanes.map((lane) => lane.worker.terminate()));
    },
  };
}
