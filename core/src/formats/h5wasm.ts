import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { threadId } from 'node:worker_threads';
import type H5wasm from 'h5wasm/node';

export type H5wasmModule = typeof H5wasm;

let loading: Promise<H5wasmModule> | undefined;

/**
 * h5wasm (HDF5 compiled to a 4 MB WebAssembly module), loaded and instantiated on first use
 * rather than at import: processes that import `@reefguard/core` but never read NetCDF-4
 * (serving, the edge agent) do not carry its heap or its start-up cost.
 */
export function loadH5wasm(): Promise<H5wasmModule> {
  loading ??= import('h5wasm/node').then(async (module) => {
    await module.default.ready;
    return module.default;
  });
  return loading;
}

let scratchCounter = 0;

/**
 * A path for h5wasm to read or write one file through. Its Node build works on the real file
 * system (NODERAWFS), so the path lies in the OS temp folder (the root is not writable for most
 * users) and is unique per process, thread and call (threads each run their own h5wasm).
 */
export function h5wasmScratchPath(label: string): string {
  return join(tmpdir(), `reefguard-${label}-${process.pid}-${threadId}-${scratchCounter++}.nc`);
}
