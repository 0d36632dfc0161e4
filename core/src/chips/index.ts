export * from './chip-raster.js';
export * from './chip-spec.js';
