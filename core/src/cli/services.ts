import { resolve } from 'node:path';
import { commonSettings, loadConfig } from '../config.js';
import {
  ensureStack,
  monitoringUnavailable,
  readStack,
  stackEnv,
  stopStack,
} from '../local-stack/index.js';

/** `reefguard services start|stop|status|env`: the private broker stack under STATE_DIR. */
export async function run(args: string[]): Promise<number> {
  const config = loadConfig(commonSettings, process.env);
  const dir = resolve(config.STATE_DIR, 'services');
  switch (args[0]) {
    case 'start': {
      const extra = ` ${args.slice(1).join(' ')} `;
      const withMlflow = extra.includes(' --with mlflow ');
      const withoutMonitoring = extra.includes(' --without monitoring ');
      const unknown = extra.replace(' --with mlflow ', ' ').replace(' --without monitoring ', ' ');
      if (unknown.trim()) {
        console.error(
          `unknown option ${unknown.trim()}: known are --with mlflow and --without monitoring`,
        );
        return 2;
      }
      if (withMlflow) console.log('starting MLflow as well (a minute on a busy machine)');
      // Monitoring is on by default, and only skipped with a clear reason.
      const missing = withoutMonitoring ? null : monitoringUnavailable();
      if (missing) console.log(`monitoring off: ${missing}`);
      const monitoring = !withoutMonitoring && !missing;
      const state = await ensureStack(dir, { mlflow: withMlflow, monitoring });
      console.log(
        `mosquitto ${state.mqttUrl}\nnats      ${state.natsUrl}\nredis     ${state.redisUrl}`,
      );
      if (state.mlflowUrl) console.log(`mlflow    ${state.mlflowUrl}`);
      if (state.prometheusUrl) {
        console.log(
          `prometheus   ${state.prometheusUrl}  (scrape targets: ${state.scrapeTargetsDir})`,
        );
        console.log(`alertmanager ${state.alertmanagerUrl}`);
      }
      if (state.slackRecordFile)
        console.log(`slack (local) ${state.slackReceiverUrl} -> ${state.slackRecordFile}`);
      console.log(`environment: source ${dir}/services.env`);
      return 0;
    }
    case 'stop':
      await stopStack(dir);
      console.log('stopped');
      return 0;
    case 'status': {
      const state = await readStack(dir);
      console.log(state ? JSON.stringify(state, null, 2) : 'not running');
      return state ? 0 : 3;
    }
    case 'env': {
      const state = await readStack(dir);
      if (!state) {
        console.error('not running: ./reefguard services start');
        return 3;
      }
      for (const [key, value] of Object.entries(stackEnv(state)))
        console.log(`export ${key}=${value}`);
      return 0;
    }
    default:
      console.error(
        'usage: ./reefguard services start [--with mlflow] [--without monitoring]|stop|status|env',
      );
      return 2;
  }
}
