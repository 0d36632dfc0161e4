import { parseArgs } from 'node:util';
import { loadServingConfig, type ServingConfig } from './config.js';
import { type ServerExtension, startServer } from './server.js';

/**
 * Serves until SIGINT / SIGTERM with settings from the environment, `--port` and `--host`
 * overriding theirs; `extension` runs next to the app (the rollout controller).
 */
export async function serveFromArgs<C extends ServingConfig>(
  args: string[],
  loadConfig: (env: NodeJS.ProcessEnv) => C,
  extension?: (config: C) => ServerExtension,
): Promise<number> {
  const { values } = parseArgs({
    args,
    options: { port: { type: 'string' }, host: { type: 'string' } },
  });
  const env = { ...process.env };
  if (values.port) env.REEFGUARD_PORT = values.port;
  if (values.host) env.REEFGUARD_HOST = values.host;
  const config = loadConfig(env);
  const stop = new AbortController();
  for (const signal of ['SIGINT', 'SIGTERM'] as const) process.once(signal, () => stop.abort());
  await startServer(config, stop.signal, extension?.(config));
  return 0;
}

/** `./reefguard serve`: the prediction API and risk map until SIGINT / SIGTERM. */
export async function run(args: string[]): Promise<number> {
  return serveFromArgs(args, loadServingConfig);
}
