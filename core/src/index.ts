export * from './config.js';
export * from './contracts/index.js';
export * from './errors.js';
export * from './features/index.js';
export * from './json-schema.js';
export * from './local-stack/index.js';
export * from './secret.js';
export * from './topics.js';
