import { readFile } from 'node:fs/promises';
import { resolve } from 'node:path';
import { ConfigError } from '@reefguard/core';
import { describe, expect, it } from 'vitest';
import { loadEdgeConfig } from '../src/index.js';

const example = resolve(import.meta.dirname, '../../infra/systemd/edge-agent.example.json');

describe('config - file plus REEFGUARD_ environment, validated once', () => {
  it('the example config of the systemd unit is valid; the environment overrides the file', async () => {
    const file = JSON.parse(await readFile(example, 'utf8')) as Record<string, unknown>;
    const config = loadEdgeConfig(file, {
      REEFGUARD_MQTT_PASSWORD: 'hunter2',
      REEFGUARD_HEALTH_PORT: '9500',
    });
    expect(config).toMatchObject({
      AGENT_ID: 'davies-gw-01',
      SOURCE: 'line',
      HEALTH_PORT: 9500,
      OUTBOX_FULL_POLICY: 'drop-oldest',
    });
    expect(config.MQTT_PASSWORD?.reveal()).toBe('hunter2');
    expect(JSON.stringify(config)).not.toContain('hunter2');
  });

  it('every problem is named at once, unknown file keys are refused, secrets never echoed', () => {
    let error: unknown;
    try {
      loadEdgeConfig(
        { AGENT_ID: 'a b', SITE_ID: 's' },
        { REEFGUARD_OUTBOX_FULL_POLICY: 'drop-all', REEFGUARD_NATS_PASSWORD: 'pw-secret' },
      );
    } catch (caught) {
      error = caught;
    }
    expect(error).toBeInstanceOf(ConfigError);
    const message = (error as Error).message;
    expect(message).toContain('REEFGUARD_AGENT_ID');
    expect(message).toContain('REEFGUARD_STATION_ID');
    expect(message).toContain('REEFGUARD_OUTBOX_FULL_POLICY');
    expect(message).not.toContain('pw-secret');
    expect(() =>
      loadEdgeConfig({ AGENT_ID: 'a', SITE_ID: 's', STATION_ID: 't', MQTT_URLS: 'x' }, {}),
    ).toThrow(/unknown setting MQTT_URLS/);
  });
});
