import { parseArgs } from 'node:util';
import { loadServingConfig } from './config.js';
import { startServer } from './server.js';

/** `./reefguard serve`: the prediction API and risk map until SIGINT / SIGTERM. */
export async function run(args: string[]): Promise<number> {
  const { values } = parseArgs({
    args,
    options: { port: { type: 'string' }, host: { type: 'string' } },
  });
  const env = { ...process.env };
  if (values.port) env.REEFGUARD_PORT = values.port;
  if (values.host) env.REEFGUARD_HOST = values.host;
  const config = loadServingConfig(env);
  const stop = new AbortController();
  for (const signal of ['SIGINT', 'SIGTERM'] as const) process.once(signal, () => stop.abort());
  await startServer(config, stop.signal);
  return 0;
}
