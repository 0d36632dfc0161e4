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
