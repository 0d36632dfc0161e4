import { resolve } from 'node:path';
import { commonSettings, loadConfig } from '../config.js';
import { ensureStack, readStack, stackEnv, stopStack } from '../local-stack/index.js';

/** `reefguard services start|stop|status|env`: the private broker stack under STATE_DIR. */
export async function run(args: string[]): Promise<number> {
  const config = loadConfig(commonSettings, process.env);
  const dir = resolve(config.STATE_DIR, 'services');
  switch (args[0]) {
    case 'start': {
      const state = await ensureStack(dir);
      console.log(
        `mosquitto ${state.mqttUrl}\nnats      ${state.natsUrl}\nredis     ${state.redisUrl}`,
      );
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
      console.error('usage: ./reefguard services start|stop|status|env');
      return 2;
  }
}
