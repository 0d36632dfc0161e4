import { type ChildProcess, spawn } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { freePort, type LocalServer, startNats, startRedis } from '@reefguard/core';
import { createProcessorMetrics, startMetricsServer } from '@reefguard/stream-processor';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CLI_FROM_SOURCE } from './stream-helpers.js';

/** 127.0.0.2 is loopback too, but a server bound to 127.0.0.1 does not answer on it. */
const OTHER_ADDRESS = '127.0.0.2';

async function scrape(host: string, port: number): Promise<string | Error> {
  try {
    const response = await fetch(`http://${host}:${port}/metrics`);
    return await response.text();
  } catch (error) {
    return error as Error;
  }
}

function startCli(env: Record<string, string>, port: number): ChildProcess {
  return spawn(
    process.execPath,
    [...CLI_FROM_SOURCE, 'stream-processor', '--metrics-port', String(port)],
    { env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'pipe'] },
  );
}

async function waitForScrape(host: string, port: number, child: ChildProcess): Promise<string> {
  let stderr = '';
  child.stderr?.on('data', (chunk: Buffer) => {
    stderr += chunk.toString();
  });
  const deadline = Date.now() + 20_000;
  while (Date.now() < deadline) {
    if (child.exitCode !== null) throw new Error(`processor exited ${child.exitCode}: ${stderr}`);
    const body = await scrape(host, port);
    if (typeof body === 'string') return body;
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error(`no metrics on ${host}:${port}: ${stderr}`);
}

async function stopChild(child: ChildProcess): Promise<number | null> {
  if (child.exitCode !== null) return child.exitCode;
  const exited = new Promise<number | null>((resolve) => child.once('exit', resolve));
  child.kill('SIGTERM');
  return exited;
}

describe('stream processor - metrics listen host', () => {
  it('listens on 127.0.0.1 by default and on the host it is given', async () => {
    const metrics = createProcessorMetrics();
    metrics.batches.inc(3);
    const loopback = await startMetricsServer({ registry: metrics.registry, port: 0 });
    try {
      expect(loopback.host).toBe('127.0.0.1');
      expect(await scrape('127.0.0.1', loopback.port)).toMatch(/reefguard_stream_batches_total 3/);
      expect(await scrape(OTHER_ADDRESS, loopback.port)).toBeInstanceOf(Error);
    } finally {
      await loopback.close();
    }
    const any = await startMetricsServer({ registry: metrics.registry, port: 0, host: '0.0.0.0' });
    try {
      expect(any.host).toBe('0.0.0.0');
      expect(await scrape(OTHER_ADDRESS, any.port)).toMatch(/reefguard_stream_batches_total 3/);
    } finally {
      await any.close();
    }
  });

  it('a port already taken fails naming the address', async () => {
    const metrics = createProcessorMetrics();
    const first = await startMetricsServer({ registry: metrics.registry, port: 0 });
    try {
      await expect(
        startMetricsServer({ registry: metrics.registry, port: first.port }),
      ).rejects.toThrow(`metrics server cannot listen on 127.0.0.1:${first.port}`);
    } finally {
      await first.close();
    }
  });

  describe('./reefguard stream-processor --metrics-port', () => {
    let dir: string;
    let nats: LocalServer;
    let redis: LocalServer;
    let env: Record<string, string>;
    beforeAll(async () => {
      // Its own NATS: the command consumes the default READINGS stream.
      dir = await mkdtemp(join(tmpdir(), 'sp-metrics-'));
      [nats, redis] = await Promise.all([
        startNats({ dataDir: join(dir, 'nats') }),
        startRedis({ dataDir: join(dir, 'redis') }),
      ]);
      env = {
        REEFGUARD_NATS_URL: nats.url,
        REEFGUARD_REDIS_URL: redis.url,
        REEFGUARD_STATE_DIR: join(dir, 'state'),
        REEFGUARD_LOG_LEVEL: 'warn',
      };
    });
    afterAll(async () => {
      await Promise.all([nats?.stop(), redis?.stop()]);
      await rm(dir, { recursive: true, force: true });
    });

    it('REEFGUARD_METRICS_HOST=0.0.0.0 serves metrics beyond 127.0.0.1', async () => {
      const port = await freePort();
      const child = startCli({ ...env, REEFGUARD_METRICS_HOST: '0.0.0.0' }, port);
      try {
        const body = await waitForScrape(OTHER_ADDRESS, port, child);
        expect(body).toContain('# TYPE reefguard_stream_readings_total counter');
      } finally {
        expect(await stopChild(child)).toBe(0);
      }
    });

    it('by default only 127.0.0.1 answers', async () => {
      const port = await freePort();
      const child = startCli(env, port);
      try {
        await waitForScrape('127.0.0.1', port, child);
        expect(await scrape(OTHER_ADDRESS, port)).toBeInstanceOf(Error);
      } finally {
        expect(await stopChild(child)).toBe(0);
      }
    });

    it('a host that is not an IP address is refused at start-up, naming the setting', async () => {
      const child = startCli({ ...env, REEFGUARD_METRICS_HOST: 'every-interface' }, 0);
      let stderr = '';
      child.stderr?.on('data', (chunk: Buffer) => {
        stderr += chunk.toString();
      });
      const code = await new Promise<number | null>((resolve) => child.once('exit', resolve));
      expect(code).toBe(1);
      expect(stderr).toContain('REEFGUARD_METRICS_HOST');
    });
  });
});
