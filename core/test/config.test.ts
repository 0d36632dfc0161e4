import { inspect } from 'node:util';
import { describe, expect, it } from 'vitest';
import { z } from 'zod';
import { ConfigError, commonSettings, loadConfig, Secret, secret } from '../src/index.js';

describe('config - loadConfig', () => {
  it('reads REEFGUARD_ variables and applies defaults', () => {
    const config = loadConfig(commonSettings, {
      REEFGUARD_MQTT_URL: 'mqtt://127.0.0.1:18830',
      MQTT_URL: 'mqtt://ignored:1',
    });
    expect(config.MQTT_URL).toBe('mqtt://127.0.0.1:18830');
    expect(config.NATS_URL).toBe('nats://127.0.0.1:4222');
    expect(config.LOG_LEVEL).toBe('info');
  });

  it('reports every invalid variable by name in one error', () => {
    const act = () =>
      loadConfig(commonSettings, { REEFGUARD_MQTT_URL: 'not a url', REEFGUARD_LOG_LEVEL: 'loud' });
    expect(act).toThrow(ConfigError);
    expect(act).toThrow(/REEFGUARD_MQTT_URL[\s\S]*REEFGUARD_LOG_LEVEL/);
  });

  it('never prints a secret, in errors, JSON, inspect or template strings', () => {
    const shape = { API_KEY: secret(), PORT: z.coerce.number().int().max(65535) };
    const config = loadConfig(shape, { REEFGUARD_API_KEY: 'hunter2', REEFGUARD_PORT: '8080' });
    expect(config.API_KEY).toBeInstanceOf(Secret);
    expect(config.API_KEY.reveal()).toBe('hunter2');
    const renderings = [JSON.stringify(config), inspect(config), `${config.API_KEY}`];
    for (const text of renderings) expect(text).not.toContain('hunter2');

    let message = '';
    try {
      loadConfig(shape, { REEFGUARD_API_KEY: 'hunter2', REEFGUARD_PORT: '99999' });
    } catch (error) {
      message = (error as Error).message;
    }
    expect(message).toContain('REEFGUARD_PORT');
    expect(message).not.toContain('hunter2');
  });
});
