export * from './catalog.js';
export * from './compute.js';
export * from './online.js';
export * from './psi.js';
