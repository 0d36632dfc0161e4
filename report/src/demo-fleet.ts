import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { sumSamples } from './counters.js';
import type { Gateway } from './demo-gateways.js';
import { freePort } from './demo-loopback.js';
import type { Supervisor } from './demo-processes.js';
import { scrape } from './demo-progress.js';

export const MAX_AGENT_RESTARTS = 2;

export interface RunningAgent {
  gateway: Gateway;
  healthUrl: string;
  restarts: number;
  start(): void;
}

export async function startGateways(
  supervisor: Supervisor,
  gateways: Gateway[],
  options: { playSeconds: number; intervalHours: number },
  stateDir: string,
  out: string,
  env: Record<string, string>,
): Promise<RunningAgent[]> {
  const seasonMs = (gateways[0]?.readingsPerSite ?? 0) * options.intervalHours * 3_600_000;
  const speed = Math.max(1, Math.round(seasonMs / (options.playSeconds * 1000)));
  const agents: RunningAgent[] = [];
  for (const gateway of gateways) {
    const port = await freePort();
    const config = {
      AGENT_ID: gateway.agentId,
      SITE_ID: gateway.pixel.siteId,
      STATION_ID: gateway.stationId,
      SOURCE: 'replay',
      REPLAY_FILE: gateway.readingsFile,
      REPLAY_SPEED: speed,
      MMM_C: Math.round((gateway.pixel.minC + gateway.pixel.rangeC) * 100) / 100,
      STATE_DIR: join(stateDir, 'edge', gateway.agentId),
      HEALTH_PORT: port,
      LOG_LEVEL: 'info',
    };
    const file = join(out, `${gateway.agentId}.json`);
    await writeFile(file, `${JSON.stringify(config, null, 2)}\n`);
    // REEFGUARD_* override the config file: the agent's own state dir goes in the environment.
    const start = () => {
      supervisor.start(gateway.agentId, ['edge-agent', '--config', file], {
        ...env,
        REEFGUARD_STATE_DIR: config.STATE_DIR,
      });
    };
    start();
    agents.push({ gateway, healthUrl: `http://127.0.0.1:${port}`, restarts: 0, start });
  }
  return agents;
}

export async function fleetState(agents: RunningAgent[], processorMetrics: string) {
  let sent = 0;
  let queued = 0;
  for (const agent of agents) {
    const samples = await scrape(`${agent.healthUrl}/metrics`);
    if (!samples) return { sent: 0, queued: Number.POSITIVE_INFINITY, processed: 0 };
    sent += sumSamples(samples, 'reefguard_edge_readings_enqueued_total');
    queued += sumSamples(samples, 'reefguard_edge_queue_depth');
  }
  const processor = (await scrape(processorMetrics)) ?? [];
  return { sent, queued, processed: sumSamples(processor, 'reefguard_stream_readings_total') };
}
