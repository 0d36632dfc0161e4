import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { type LocalServer, type ModelCard, startMlflow as startLocalMlflow } from '@reefguard/core';
import { FIXTURE_MODELS, MODEL_NAME } from './helpers.js';

export type MlflowServer = LocalServer;

/** A real `mlflow server` (sqlite backend, proxied artifacts): core's local-stack one. */
export async function startMlflow(dir: string): Promise<MlflowServer> {
  return startLocalMlflow({ dataDir: dir });
}

async function rest<T>(url: string, method: string, path: string, body?: unknown): Promise<T> {
  const response = await fetch(`${url}${path}`, {
    method,
    headers: { 'content-type': 'application/json' },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  if (!response.ok)
    throw new Error(`${method} ${path}: ${response.status} ${await response.text()}`);
  return (await response.json()) as T;
}

/**
 * Registers a fixture model as the trainer does: a run whose artifacts hold the ONNX file and
 * model-card.json, and a model version whose source is that artifact folder. `edit` changes
 * the card (metrics for the gates); `corrupt` uploads different bytes than the card's sha256.
 */
export async function registerVersion(
  url: string,
  fixture: string,
  edit: (card: ModelCard) => void = () => {},
  options: { corrupt?: boolean } = {},
): Promise<string> {
  await rest(url, 'POST', '/api/2.0/mlflow/registered-models/create', { name: MODEL_NAME }).catch(
    (error: Error) => {
      if (!error.message.includes('RESOURCE_ALREADY_EXISTS')) throw error;
    },
  );
  const { run } = await rest<{ run: { info: { run_id: string; artifact_uri: string } } }>(
    url,
    'POST',
    '/api/2.0/mlflow/runs/create',
    { experiment_id: '0' },
  );
  const root = run.info.artifact_uri.replace(/^mlflow-artifacts:\//, '');
  const onnx = await readFile(join(FIXTURE_MODELS, fixture, 'model.onnx'));
  const card = JSON.parse(
    await readFile(join(FIXTURE_MODELS, fixture, 'model-card.json'), 'utf8'),
  ) as ModelCard;
  edit(card);
  const upload = async (name: string, body: Uint8Array<ArrayBuffer> | string) => {
    const response = await fetch(
      `${url}/api/2.0/mlflow-artifacts/artifacts/${root}/model/${name}`,
      {
        method: 'PUT',
        body,
      },
    );
    if (!response.ok) throw new Error(`upload ${name}: ${response.status}`);
  };
  const bytes = new Uint8Array(onnx);
  if (options.corrupt) bytes[bytes.length - 1] = (bytes[bytes.length - 1] as number) ^ 0xff;
  await upload('model.onnx', bytes);
  await upload('model-card.json', JSON.stringify(card));
  const { model_version } = await rest<{ model_version: { version: string } }>(
    url,
    'POST',
    '/api/2.0/mlflow/model-versions/create',
    { name: MODEL_NAME, source: `${run.info.artifact_uri}/model`, run_id: run.info.run_id },
  );
  return model_version.version;
}
