/**
 * Copies the model version at a registry alias from MLflow into the local model store layout
 * (`<out>/<name>/<version>/`, every file checked against the sha256 in its card), so that
 * `./reefguard evaluate --model <that folder>` runs the production model exactly as serving
 * does. model-ci evaluates the champion this way on the same observations as the candidate.
 *
 *   node_modules/.bin/tsx infra/ci/fetch-model.ts [--alias champion] --out DIR
 *
 * Settings: REEFGUARD_MLFLOW_TRACKING_URI, REEFGUARD_MLFLOW_TRACKING_TOKEN (secret),
 * REEFGUARD_MODEL_NAME. Prints the version's folder.
 */
import { parseArgs } from 'node:util';
import { createMlflowRegistry, loadServingConfig } from '@reefguard/serving';

async function main(args: string[]): Promise<number> {
  const { values } = parseArgs({
    args,
    options: { alias: { type: 'string', default: 'champion' }, out: { type: 'string' } },
  });
  if (values.out === undefined || (values.alias !== 'champion' && values.alias !== 'challenger')) {
    console.error('usage: fetch-model.ts [--alias champion|challenger] --out DIR');
    return 2;
  }
  const config = loadServingConfig(process.env);
  if (config.MLFLOW_TRACKING_URI === undefined) {
    console.error('REEFGUARD_MLFLOW_TRACKING_URI is not set: no registry to fetch from');
    return 2;
  }
  const registry = createMlflowRegistry({
    trackingUri: config.MLFLOW_TRACKING_URI,
    name: config.MODEL_NAME,
    cacheDir: values.out,
    ...(config.MLFLOW_TRACKING_TOKEN ? { token: config.MLFLOW_TRACKING_TOKEN } : {}),
  });
  try {
    const version = await registry.getAlias(values.alias);
    if (version === null) {
      console.error(`${config.MODEL_NAME} has no ${values.alias} alias`);
      return 1;
    }
    console.log(await registry.fetch(version));
    return 0;
  } finally {
    await registry.close();
  }
}

process.exitCode = await main(process.argv.slice(2)).catch((error: unknown) => {
  // One line for the CI log: what failed and why, without a stack.
  const cause =
    error instanceof Error && error.cause instanceof Error ? `: ${error.cause.message}` : '';
  console.error(`${error instanceof Error ? error.message : String(error)}${cause}`);
  return 1;
});
