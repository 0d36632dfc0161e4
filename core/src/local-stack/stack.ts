import { readFile, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { startMosquitto, startNats, startRedis } from './servers.js';

/** What `reefguard services start` leaves behind for other processes to find the stack. */
export interface StackState {
  mqttUrl: string;
  natsUrl: string;
  redisUrl: string;
  pids: Record<string, number>;
  startedAt: string;
}

const STATE_FILE = 'services.json';
const ENV_FILE = 'services.env';

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

/** The running stack recorded in `dir`, or null when none is (or any of it died). */
export async function readStack(dir: string): Promise<StackState | null> {
  let state: StackState;
  try {
    state = JSON.parse(await readFile(join(dir, STATE_FILE), 'utf8')) as StackState;
  } catch {
    return null;
  }
  return Object.values(state.pids).every(isAlive) ? state : null;
}

/** The stack's addresses as `REEFGUARD_*` variables, for shells and child processes. */
export function stackEnv(state: StackState): Record<string, string> {
  return {
    REEFGUARD_MQTT_URL: state.mqttUrl,
    REEFGUARD_NATS_URL: state.natsUrl,
    REEFGUARD_REDIS_URL: state.redisUrl,
  };
}

/**
 * Makes sure private Mosquitto, NATS (JetStream) and Redis run on free loopback ports with
 * their data under `dir`; idempotent: a healthy recorded stack is reused as it is.
 */
export async function ensureStack(dir: string): Promise<StackState> {
  const running = await readStack(dir);
  if (running) return running;
  await stopStack(dir);
  const [mqtt, nats, redis] = await Promise.all([
    startMosquitto({ dataDir: join(dir, 'mosquitto'), detached: true }),
    startNats({ dataDir: join(dir, 'nats'), detached: true }),
    startRedis({ dataDir: join(dir, 'redis'), detached: true }),
  ]);
  const state: StackState = {
    mqttUrl: mqtt.url,
    natsUrl: nats.url,
    redisUrl: redis.url,
    pids: { mosquitto: mqtt.pid, nats: nats.pid, redis: redis.pid },
    startedAt: new Date().toISOString(),
  };
  await writeFile(join(dir, STATE_FILE), `${JSON.stringify(state, null, 2)}\n`);
  const env = Object.entries(stackEnv(state)).map(([key, value]) => `export ${key}=${value}`);
  await writeFile(join(dir, ENV_FILE), `${env.join('\n')}\n`);
  return state;
}

/** Stops whatever stack is recorded in `dir` and removes its data. */
export async function stopStack(dir: string): Promise<void> {
  let state: StackState | undefined;
  try {
    state = JSON.parse(await readFile(join(dir, STATE_FILE), 'utf8')) as StackState;
  } catch {
    state = undefined;
  }
  for (const pid of Object.values(state?.pids ?? {})) {
    if (!isAlive(pid)) continue;
    process.kill(pid, 'SIGTERM');
    for (let i = 0; i < 100 && isAlive(pid); i++) await sleep(50);
    if (isAlive(pid)) process.kill(pid, 'SIGKILL');
  }
  await rm(dir, { recursive: true, force: true });
}
