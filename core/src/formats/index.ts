export * from './climatology-geotiff.js';
export * from './h5wasm.js';
export * from './netcdf-sst.js';
export * from './netcdf4-sst.js';
export * from './sst-csv.js';
export * from './sst-input.js';
export * from './sst-series.js';
export * from './virtual-station.js';
