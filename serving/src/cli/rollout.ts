import { parseArgs } from 'node:util';
import { connect } from '@nats-io/transport-node';
import { loadRolloutConfig, startRolloutController } from '../rollout.js';
import { startServer } from '../server.js';

/**
 * `./reefguard rollout`: serving (as `./reefguard serve`) plus the rollout controller, which
 * turns retrain results into challenger, canary, promotion or rollback decisions. Run it on
 * one instance; other replicas run `serve` and follow the registry aliases.
 */
export async function run(args: string[]): Promise<number> {
  const { values } = parseArgs({
    args,
    options: { port: { type: 'string' }, host: { type: 'string' } },
  });
  const env = { ...process.env };
  if (values.port) env.REEFGUARD_PORT = values.port;
  if (values.host) env.REEFGUARD_HOST = values.host;
  const config = loadRolloutConfig(env);
  const stop = new AbortController();
  for (const signal of ['SIGINT', 'SIGTERM'] as const) process.once(signal, () => stop.abort());
  await startServer(config, stop.signal, async (app) => {
    const nc = await connect({
      servers: config.NATS_URL,
      token: config.NATS_TOKEN?.reveal(),
      name: 'reefguard-rollout-controller',
    });
    const controller = await startRolloutController({
      nc,
      promotion: app.promotion,
      models: app.models,
      logger: app.log,
      durable: config.ROLLOUT_DURABLE,
    });
    return async () => {
      await controller.close();
      await nc.close();
    };
  });
  return 0;
}
