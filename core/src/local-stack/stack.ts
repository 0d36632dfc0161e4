import { readFile, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { startMlflow } from './mlflow.js';
import { type MonitoringStackOptions, startMonitoringStack } from './monitoring-stack.js';
import { startMosquitto, startNats, startRedis } from './servers.js';

/** What `reefguard services start` leaves behind for other processes to find the stack. */
export interface StackState {
  mqttUrl: string;
  natsUrl: string;
  redisUrl: string;
  /** Present when the stack was started with MLflow (`services start --with mlflow`). */
  mlflowUrl?: string;
  /** Present with monitoring (the default of `services start`; `--without monitoring`). */
  prometheusUrl?: string;
  alertmanagerUrl?: string;
  /** file_sd folder of Prometheus: `writeScrapeTargets(scrapeTargetsDir, job, name, ...)`. */
  scrapeTargetsDir?: string;
  /** The local Slack stand-in Alertmanager posts to, and its JSON-lines record. */
  slackReceiverUrl?: string;
  slackRecordFile?: string;
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
    ...(state.mlflowUrl ? { REEFGUARD_MLFLOW_TRACKING_URI: state.mlflowUrl } : {}),
    ...(state.prometheusUrl ? { REEFGUARD_PROMETHEUS_URL: state.prometheusUrl } : {}),
    ...(state.alertmanagerUrl ? { REEFGUARD_ALERTMANAGER_URL: state.alertmanagerUrl } : {}),
    ...(state.scrapeTargetsDir ? { REEFGUARD_SCRAPE_TARGETS_DIR: state.scrapeTargetsDir } : {}),
  };
}

/** Optional servers of the stack, started next to the brokers. */
export interface StackOptions {
  /** A local MLflow tracking server and model registry (slow to start: off by default). */
  mlflow?: boolean;
  /** Prometheus (shipped rules), Alertmanager (shipped routing) and a local Slack receiver. */
  monitoring?: boolean | MonitoringStackOptions;
}

/**
 * Makes sure private Mosquitto, NATS (JetStream) and Redis run on free loopback ports with
 * their data under `dir`; idempotent: a healthy recorded stack is reused as it is.
 */
export async function ensureStack(dir: string, options: StackOptions = {}): Promise<StackState> {
  const state = await ensureBrokers(dir, options);
  if (!options.monitoring || state.prometheusUrl) return state;
  // Added next to running brokers (others may use them), like MLflow.
  const monitoring = await startMonitoringStack(
    join(dir, 'monitoring'),
    options.monitoring === true ? {} : options.monitoring,
  );
  const { pids, ...urls } = monitoring;
  const withMonitoring = { ...state, ...urls, pids: { ...state.pids, ...pids } };
  await writeState(dir, withMonitoring);
  return withMonitoring;
}

async function ensureBrokers(dir: string, options: StackOptions): Promise<StackState> {
  const running = await readStack(dir);
  if (running && (!options.mlflow || running.mlflowUrl)) return running;
  if (running) {
    // Brokers already up (others may use them): only add MLflow.
    const mlflow = await startMlflow({ dataDir: join(dir, 'mlflow'), detached: true });
    const state = {
      ...running,
      mlflowUrl: mlflow.url,
      pids: { ...running.pids, mlflow: mlflow.pid },
    };
    await writeState(dir, state);
    return state;
  }
  await stopStack(dir);
  const [mqtt, nats, redis] = await Promise.all([
    startMosquitto({ dataDir: join(dir, 'mosquitto'), detached: true }),
    startNats({ dataDir: join(dir, 'nats'), detached: true }),
    startRedis({ dataDir: join(dir, 'redis'), detached: true }),
  ]);
  const mlflow = options.mlflow
    ? await startMlflow({ dataDir: join(dir, 'mlflow'), detached: true })
    : null;
  const state: StackState = {
    mqttUrl: mqtt.url,
    natsUrl: nats.url,
    redisUrl: redis.url,
    ...(mlflow ? { mlflowUrl: mlflow.url } : {}),
    pids: {
      mosquitto: mqtt.pid,
      nats: nats.pid,
      redis: redis.pid,
      ...(mlflow ? { mlflow: mlflow.pid } : {}),
    },
    startedAt: new Date().toISOString(),
  };
  await writeState(dir, state);
  return state;
}

async function writeState(dir: string, state: StackState) {
  await writeFile(join(dir, STATE_FILE), `${JSON.stringify(state, null, 2)}\n`);
  const env = Object.entries(stackEnv(state)).map(([key, value]) => `export ${key}=${value}`);
  await writeFile(join(dir, ENV_FILE), `${env.join('\n')}\n`);
}

/** Stops whatever stack is recorded in `dir` and removes its data. */
export async function stopStack(dir: string): Promise<void> {
  let state: StackState | undefined;
  try {
    state = JSON.parse(await readFile(join(dir, STATE_FILE), 'utf8')) as StackState;
  } catch {
    state = undefined;
  }
  for (const [name, pid] of Object.entries(state?.pids ?? {})) {
    if (!isAlive(pid)) continue;
    // MLflow leads a process group of uvicorn workers: stop the whole group.
    process.kill(name === 'mlflow' ? -pid : pid, 'SIGTERM');
    for (let i = 0; i < 100 && isAlive(pid); i++) await sleep(50);
    if (isAlive(pid)) process.kill(name === 'mlflow' ? -pid : pid, 'SIGKILL');
  }
  await rm(dir, { recursive: true, force: true });
}
