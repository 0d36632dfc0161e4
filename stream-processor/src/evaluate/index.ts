export * from './evaluate.js';
export * from './model-store.js';
export * from './report.js';
