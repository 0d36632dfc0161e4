import { parentPort, workerData } from 'node:worker_threads';
import { type CrwDayOutput, type CrwStateArrays, stepCrwRows } from './crw-step.js';

/** A block of days for grid pixels [from, to) of the shared state (see crw-grid.ts). */
export interface CrwWorkerTask {
  id: number;
  days: Int32Array;
  /** Day of the state before the block, NaN before the first step. */
  previousDay: number;
  /** `days.length` rows of SST, time-major, on SharedArrayBuffers; outputs laid out alike. */
  sstC: Float32Array | Float64Array;
  out: CrwDayOutput;
  from: number;
  to: number;
}

export interface CrwWorkerReply {
  id: number;
  error?: string;
}

// The state's arrays arrive once, as shared memory; each task names a block of days.
const state = workerData as CrwStateArrays;
const port = parentPort!;

port.on('message', (task: CrwWorkerTask) => {
  let reply: CrwWorkerReply = { id: task.id };
  try {
    stepCrwRows(state, task.days, task.previousDay, task.sstC, task.out, task.from, task.to);
  } catch (error) {
    reply = {
      id: task.id,
      error: error instanceof Error ? (error.stack ?? error.message) : String(error),
    };
  }
  port.postMessage(reply);
});
