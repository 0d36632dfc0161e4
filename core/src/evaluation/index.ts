export * from './crw-baseline.js';
export * from './metrics.js';
