import { connect } from '@nats-io/transport-node';
import { serveFromArgs } from '../cli.js';
import { loadRolloutConfig, startRolloutController } from '../rollout.js';

/**
 * `./reefguard rollout`: serving (as `./reefguard serve`) plus the rollout controller, which
 * turns retrain results into challenger, canary, promotion or rollback decisions. Run it on
 * one instance; other replicas run `serve` and follow the registry aliases.
 */
export async function run(args: string[]): Promise<number> {
  return serveFromArgs(args, loadRolloutConfig, (config) => async (app) => {
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
}
