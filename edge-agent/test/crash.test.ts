import { type ChildProcess, spawn } from 'node:child_process';
import { readFile, writeFile } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { mqttTopics, startMosquitto, startNats } from '@reefguard/core';
import mqtt from 'mqtt';
import { describe, expect, it } from 'vitest';
import { collectMqtt, distinct, streamIds, tempDir, waitFor } from './helpers.js';

const root = resolve(import.meta.dirname, '../..');
const N = 4000;

function spawnAgent(
  configPath: string,
  once: boolean,
  env: Record<string, string> = {},
): ChildProcess {
  return spawn(
    process.execPath,
    [
      '--conditions=source',
      '--import',
      'tsx',
      'edge-agent/test/agent-main.ts',
      '--config',
      configPath,
      ...(once ? ['--once'] : []),
    ],
    { cwd: root, stdio: ['ignore', 'pipe', 'pipe'], env: { PATH: process.env.PATH ?? '', ...env } },
  );
}

const exited = (child: ChildProcess) =>
  new Promise<number | null>((done) => child.once('exit', (code) => done(code)));

describe('crash - kill -9 the agent mid-stream and start it again', () => {
  it('nothing is lost: every reading reaches both brokers, repeats only with the same id', async () => {
    const temp = await tempDir('edge-crash-');
    const mosquitto = await startMosquitto({ dataDir: join(temp.dir, 'mosquitto') });
    const nats = await startNats({ dataDir: join(temp.dir, 'nats') });
    const subscriber = await collectMqtt(mosquitto.url, 'crash-subscriber');
    const statuses: string[] = [];
    const watcher = await mqtt.connectAsync(mosquitto.url, { clean: true });
    watcher.on('message', (_topic, payload) =>
      statuses.push((JSON.parse(payload.toString()) as { status: string }).status),
    );
    await watcher.subscribeAsync(mqttTopics.agentStatus('gw-crash'), { qos: 1 });
    const configPath = join(temp.dir, 'agent.json');
    await writeFile(
      configPath,
      JSON.stringify({
        AGENT_ID: 'gw-crash',
        SITE_ID: '18-054',
        STATION_ID: 'davies-buoy',
        STATE_DIR: join(temp.dir, 'agent'),
        MQTT_URL: mosquitto.url,
        NATS_URL: nats.url,
        NATS_STREAM: 'CRASH',
        SOURCE: 'replay',
        REPLAY_GENERATE_COUNT: N,
        REPLAY_SPEED: 200_000,
        HEALTH_PORT: 0,
        LOG_LEVEL: 'warn',
      }),
    );
    let child = spawnAgent(configPath, false);
    let log = '';
    child.stderr?.on('data', (chunk) => {
      log += String(chunk);
    });
    try {
      // Kill once readings are flowing, part of the stream still ahead.
      await waitFor(() => distinct(subscriber.ids) > 800, 20_000, 'the agent to publish');
      const beforeKill = distinct(subscriber.ids);
      child.kill('SIGKILL');
      expect(await exited(child)).toBe(null);
      // The broker publishes the last will for the dead connection: retained "offline".
      await waitFor(() => statuses.at(-1) === 'offline', 5_000, 'the last will');
      expect(statuses).toContain('online');
      const cursor = JSON.parse(
        await readFile(join(temp.dir, 'agent', 'cursor-generated.json'), 'utf8'),
      ) as { cursor: string };
      expect(Number(cursor.cursor)).toBeLessThan(N - 1);

      // The restart drains the rest as fast as it can (--once), not at replay pace.
      child = spawnAgent(configPath, true, { REEFGUARD_REPLAY_SPEED: '0' });
      child.stderr?.on('data', (chunk) => {
        log += String(chunk);
      });
      expect(await exited(child), log).toBe(0);
      await waitFor(() => distinct(subscriber.ids) >= N, 10_000, 'MQTT subscriber to catch up');
      const stored = await streamIds(nats.url, 'CRASH');
      const counts = {
        generated: N,
        distinctBeforeKill: beforeKill,
        cursorAtKill: Number(cursor.cursor),
        mqttReceived: subscriber.ids.length,
        mqttDistinct: distinct(subscriber.ids),
        jetstreamStored: stored.length,
        jetstreamDistinct: distinct(stored),
      };
      console.log('crash counts', JSON.stringify(counts));
      expect(counts.mqttDistinct).toBe(N);
      expect(counts.jetstreamStored).toBe(N);
      expect(counts.jetstreamDistinct).toBe(N);
    } finally {
      if (child.exitCode === null) child.kill('SIGKILL');
      await subscriber.close();
      await watcher.endAsync();
      await Promise.allSettled([mosquitto.stop(), nats.stop()]);
      await temp.remove();
    }
  }, 60_000);
});
