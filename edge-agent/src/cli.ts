import { readFile } from 'node:fs/promises';
import { parseArgs } from 'node:util';
import { Secret } from '@reefguard/core';
import { startAgent } from './agent.js';
import { loadEdgeConfig, readConfigFile } from './config.js';
import { createAgentLogger } from './logger.js';

/**
 * `./reefguard edge-agent --config PATH [--once]`: runs the buoy-gateway daemon until
 * SIGTERM/SIGINT (then flushes), or with --once ingests the source, drains and exits 0 when
 * nothing is left unsent.
 */
export async function run(args: string[]): Promise<number> {
  const { values } = parseArgs({
    args,
    options: { config: { type: 'string' }, once: { type: 'boolean', default: false } },
  });
  const file = values.config ? await readConfigFile(values.config) : {};
  const config = loadEdgeConfig(file, process.env);
  const logger = createAgentLogger({ level: config.LOG_LEVEL, agentId: config.AGENT_ID });
  const read = (path: string | undefined) =>
    path ? readFile(path, 'utf8') : Promise.resolve(undefined);
  const [mqttCa, mqttCert, mqttKey, natsCa, modelPublicKey] = await Promise.all([
    read(config.MQTT_CA_FILE),
    read(config.MQTT_CERT_FILE),
    read(config.MQTT_KEY_FILE),
    read(config.NATS_CA_FILE),
    read(config.MODEL_PUBLIC_KEY_FILE),
  ]);
  const agent = await startAgent(config, {
    logger,
    pem: {
      mqttCa,
      mqttCert,
      mqttKey: mqttKey ? new Secret(mqttKey) : undefined,
      natsCa,
      modelPublicKey,
    },
  });
  logger.info(
    { health: agent.healthUrl, transport: config.TRANSPORT, source: config.SOURCE },
    'edge agent started',
  );
  const controller = new AbortController();
  const stop = () => controller.abort();
  process.once('SIGTERM', stop);
  process.once('SIGINT', stop);
  try {
    if (values.once) {
      const left = await agent.runOnce(controller.signal);
      logger.info({ left }, 'source done, queue drained');
      return left === 0 ? 0 : 1;
    }
    await agent.run(controller.signal);
    return 0;
  } finally {
    process.off('SIGTERM', stop);
    process.off('SIGINT', stop);
    await agent.close();
    logger.info('edge agent stopped');
  }
}
