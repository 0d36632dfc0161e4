export * from './nechad.js';
export * from './scene.js';
export * from './sentinel2.js';
export * from './water-mask.js';
