export { freePort, type LocalServer, waitForPort } from './process.js';
export { type ServerOptions, startMosquitto, startNats, startRedis } from './servers.js';
export { ensureStack, readStack, type StackState, stackEnv, stopStack } from './stack.js';
