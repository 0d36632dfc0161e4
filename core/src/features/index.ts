export * from './catalog.js';
export * from './online.js';
