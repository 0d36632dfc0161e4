export * from './export.js';
export * from './gbr-aerial.js';
export * from './gbr-context.js';
export * from './gcbd.js';
export * from './observation.js';
export * from './observation-file.js';
export * from './training-rows.js';
export * from './training-set-writer.js';
