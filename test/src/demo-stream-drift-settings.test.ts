import { type ChildProcess, spawn } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { jetstream } from '@nats-io/jetstream';
import { connect, headers, type NatsConnection } from '@nats-io/transport-node';
import {
  type BuoyReading,
  type DriftEvent,
  driftEventSchema,
  freePort,
  type LocalServer,
  natsSubjects,
  READING_UNITS,
  type RetrainRequest,
  readingId,
  retrainRequestSchema,
  SCHEMA_VERSION,
  startNats,
  startRedis,
} from '@reefguard/core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CLI_FROM_SOURCE } from './stream-helpers.js';

/**
 * `./reefguard stream-processor`'s drift timing settings, through the real command (what the
 * demo runs): REEFGUARD_DRIFT_WINDOW, REEFGUARD_DRIFT_CHECK_EVERY and REEFGUARD_DRIFT_SUSTAIN_S
 * reach the drift monitor, the production defaults stay (a short burst gives no check at all),
 * and a bad value is refused by name. Private NATS and Redis: its retrain requests must reach
 * no other test's worker.
 */
const ROOT = fileURLToPath(new URL('../../', import.meta.url));
const CARD = join(ROOT, 'test/fixtures/models/v1/model-card.json');
const SITE = 'pixel-1020';
const FEATURE = 'sst_rolling_avg_7d';
const DAYS = 40;
/** A buoy's reading every 3 h, as the demo's gateways send. */
const READINGS_PER_DAY = 8;

let dir: string;
let nats: LocalServer;
let redis: LocalServer;
let nc: NatsConnection;

function startCli(env: Record<string, string>, stateDir: string, port: number): ChildProcess {
  return spawn(
    process.execPath,
    [...CLI_FROM_SOURCE, 'stream-processor', '--card', CARD, '--metrics-port', String(port)],
    {
      cwd: ROOT,
      env: {
        ...process.env,
        REEFGUARD_NATS_URL: nats.url,
        REEFGUARD_REDIS_URL: redis.url,
        REEFGUARD_STATE_DIR: stateDir,
        REEFGUARD_LOG_LEVEL: 'info',
        ...env,
      },
      stdio: ['ignore', 'pipe', 'pipe'],
    },
  );
}

function output(child: ChildProcess): { text: () => string } {
  let text = '';
  child.stdout?.on('data', (c: Buffer) => {
    text += c.toString();
  });
  child.stderr?.on('data', (c: Buffer) => {
    text += c.toString();
  });
  return { text: () => text };
}

/** Up when it logs "stream processor running": its stream and durable consumer exist then. */
async function waitForRunning(child: ChildProcess, log: () => string) {
  const deadline = Date.now() + 30_000;
  while (Date.now() < deadline) {
    if (child.exitCode !== null) throw new Error(`processor exited ${child.exitCode}: ${log()}`);
    if (log().includes('stream processor running')) return;
    await new Promise((r) => setTimeout(r, 200));
  }
  throw new Error(`the processor did not start: ${log()}`);
}

async function stop(child: ChildProcess): Promise<number | null> {
  if (child.exitCode !== null) return child.exitCode;
  const exited = new Promise<number | null>((resolve) => child.once('exit', resolve));
  child.kill('SIGTERM');
  return exited;
}

/** Hot readings (32 degC, far above the card's reference) every 3 h on day `day` of the season. */
async function publishDay(station: string, startDay: number, day: number) {
  const js = jetstream(nc);
  for (let k = day * READINGS_PER_DAY; k < (day + 1) * READINGS_PER_DAY; k++) {
    const hours = k * (24 / READINGS_PER_DAY);
    const observedAt = new Date(startDay * 86_400_000 + hours * 3_600_000).toISOString();
    const reading: BuoyReading = {
      schema_version: SCHEMA_VERSION,
      id: readingId(station, 'water_temperature', observedAt),
      site_id: SITE,
      station_id: station,
      parameter: 'water_temperature',
      value: 32,
      unit: READING_UNITS.water_temperature,
      observed_at: observedAt,
      lat: -12.28,
      lon: 143.35,
      source: 'replay',
    };
    const h = headers();
    h.set('Nats-Msg-Id', reading.id);
    await js.publish(`reefguard.v1.readings.${SITE}`, JSON.stringify(reading), { headers: h });
  }
}

/** Runs the command with `env` on a fresh season; the drift events and retrain requests it sent. */
async function runSeason(name: string, env: Record<string, string>, startDay: number) {
  const events: DriftEvent[] = [];
  const requests: RetrainRequest[] = [];
  const driftSub = nc.subscribe(natsSubjects.drift(FEATURE));
  const retrainSub = nc.subscribe(natsSubjects.retrainRequests);
  void (async () => {
    for await (const m of driftSub) events.push(driftEventSchema.parse(m.json()));
  })();
  void (async () => {
    for await (const m of retrainSub) requests.push(retrainRequestSchema.parse(m.json()));
  })();
  const port = await freePort();
  const child = startCli(env, join(dir, name), port);
  const log = output(child);
  try {
    await waitForRunning(child, log.text);
    const processed = async () => {
      const text = await fetch(`http://127.0.0.1:${port}/metrics`).then((r) => r.text());
      const applied = text.match(/^reefguard_stream_readings_total\{outcome="applied"\} (\d+)/m);
      return Number(applied?.[1] ?? 0);
    };
    // Day by day, as a buoy sends them: each day is applied before the next arrives, so the
    // number of drift values does not depend on how a loaded machine batches a backlog.
    for (let day = 0; day < DAYS; day++) {
      await publishDay(`buoy-${name}`, startDay, day);
      await expect
        .poll(processed, { timeout: 20_000, interval: 20 })
        .toBe((day + 1) * READINGS_PER_DAY);
    }
    await new Promise((r) => setTimeout(r, 1_000));
  } finally {
    expect(await stop(child)).toBe(0);
    driftSub.unsubscribe();
    retrainSub.unsubscribe();
  }
  return { events, requests };
}

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'demo-drift-settings-'));
  [nats, redis] = await Promise.all([
    startNats({ dataDir: join(dir, 'nats') }),
    startRedis({ dataDir: join(dir, 'redis') }),
  ]);
  nc = await connect({ servers: nats.url });
});

afterAll(async () => {
  await nc?.close();
  await Promise.all([nats?.stop(), redis?.stop()]);
  await rm(dir, { recursive: true, force: true });
});

describe('stream processor CLI - drift timing settings (the demo runs the real command with them)', () => {
  it('a window of 10 checked every 5 values with no sustain period: drift checks over 10 values and one retrain request', async () => {
    const { events, requests } = await runSeason(
      'fast',
      {
        REEFGUARD_DRIFT_WINDOW: '10',
        REEFGUARD_DRIFT_CHECK_EVERY: '5',
        REEFGUARD_DRIFT_SUSTAIN_S: '0',
      },
      Date.UTC(2016, 0, 1) / 86_400_000,
    );
    // Each day is applied before the next is sent, so the monitor gets at least one value per
    // day and at most one per reading: DAYS / 5 .. DAYS * READINGS_PER_DAY / 5 checks, each
    // over at most the last 10 values.
    expect(events.length).toBeGreaterThanOrEqual(DAYS / 5);
    expect(events.length).toBeLessThanOrEqual((DAYS * READINGS_PER_DAY) / 5);
    expect(Math.min(...events.map((e) => e.window_count))).toBeGreaterThanOrEqual(5);
    expect(Math.max(...events.map((e) => e.window_count))).toBe(10);
    expect(events.filter((e) => e.drifted).length).toBeGreaterThanOrEqual(3);
    expect(events.every((e) => e.model_version === 'v1')).toBe(true);
    // Three drifted checks in a row, no sustain period: one request for the episode.
    expect(requests).toHaveLength(1);
    // The request names the features that drifted first: the card's, all fed by the hot water.
    expect(requests[0]?.features.length).toBeGreaterThanOrEqual(1);
    for (const feature of requests[0]?.features ?? []) {
      expect(['dhw', 'hotspot', 'sst_anomaly', 'sst_rolling_avg_7d']).toContain(feature);
    }
  }, 60_000);

  it("production's defaults (500 values, checked every 100, 15 minutes): few checks over 100+ values, no request for the same 40 days", async () => {
    const { events, requests } = await runSeason('defaults', {}, Date.UTC(2017, 0, 1) / 86_400_000);
    // At most one value per reading: at most 3 checks, each over at least the 100 values
    // between checks; drifted or not, 15 minutes have not passed, so no retrain request.
    expect(events.length).toBeLessThanOrEqual((DAYS * READINGS_PER_DAY) / 100);
    for (const event of events) expect(event.window_count).toBeGreaterThanOrEqual(100);
    expect(requests).toHaveLength(0);
  }, 60_000);

  it('refuses a bad drift setting, naming it, before connecting anywhere', async () => {
    const child = startCli(
      { REEFGUARD_DRIFT_CHECK_EVERY: '0', REEFGUARD_DRIFT_SUSTAIN_S: 'soon' },
      join(dir, 'bad'),
      await freePort(),
    );
    const log = output(child);
    const code = await new Promise<number | null>((resolve) => child.once('exit', resolve));
    expect(code).not.toBe(0);
    expect(log.text()).toMatch(/REEFGUARD_DRIFT_CHECK_EVERY/);
    expect(log.text()).toMatch(/REEFGUARD_DRIFT_SUSTAIN_S/);
  }, 30_000);
});
