import { resolve } from 'node:path';
import type { TestProject } from 'vitest/node';
import { ensureStack, type StackState } from '../../core/src/local-stack/index.js';

declare module 'vitest' {
  export interface ProvidedContext {
    stack: Pick<StackState, 'mqttUrl' | 'natsUrl' | 'redisUrl'>;
  }
}

/**
 * Gives every test the private broker stack: the one `make test` started (REEFGUARD_* set),
 * or, when vitest runs on its own, one started here under .reefguard/vitest.
 */
export default async function setup(project: TestProject) {
  const { REEFGUARD_MQTT_URL, REEFGUARD_NATS_URL, REEFGUARD_REDIS_URL } = process.env;
  if (REEFGUARD_MQTT_URL && REEFGUARD_NATS_URL && REEFGUARD_REDIS_URL) {
    project.provide('stack', {
      mqttUrl: REEFGUARD_MQTT_URL,
      natsUrl: REEFGUARD_NATS_URL,
      redisUrl: REEFGUARD_REDIS_URL,
    });
    return;
  }
  const state = await ensureStack(resolve('.reefguard/vitest/services'));
  project.provide('stack', state);
}
