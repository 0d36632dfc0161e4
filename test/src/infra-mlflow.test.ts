import { execFile } from 'node:child_process';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { MODEL_NAME } from '../../serving/test/helpers.js';
import { type MlflowServer, registerVersion, startMlflow } from '../../serving/test/mlflow.js';

const run = promisify(execFile);
const ROOT = new URL('../../', import.meta.url).pathname;

/** Runs a CI script from the repository root; resolves with its exit code and output. */
async function script(
  command: string,
  args: string[],
  env: Record<string, string> = {},
): Promise<{ code: number; out: string }> {
  try {
    const { stdout, stderr } = await run(command, args, {
      cwd: ROOT,
      env: { ...process.env, ...env },
    });
    return { code: 0, out: stdout + stderr };
  } catch (error) {
    const failed = error as { code: number; stdout: string; stderr: string };
    return { code: failed.code, out: failed.stdout + failed.stderr };
  }
}

async function setAlias(url: string, alias: string, version: string): Promise<void> {
  const response = await fetch(`${url}/api/2.0/mlflow/registered-models/alias`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ name: MODEL_NAME, alias, version }),
  });
  expect(response.ok).toBe(true);
}

describe('infra CI scripts - against a real MLflow registry', () => {
  let dir: string;
  let mlflow: MlflowServer;
  let good: string;
  let corrupt: string;

  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'reefguard-infra-mlflow-'));
    mlflow = await startMlflow(join(dir, 'mlflow'));
    good = await registerVersion(mlflow.url, 'v1');
    corrupt = await registerVersion(mlflow.url, 'v2', () => {}, { corrupt: true });
  }, 120_000);

  afterAll(async () => {
    await mlflow?.stop();
    await rm(dir, { recursive: true, force: true });
  });

  it('model-approval fails while an alias points at an unlisted version, passes once listed', async () => {
    await setAlias(mlflow.url, 'champion', good);
    await setAlias(mlflow.url, 'challenger', corrupt);
    const approved = join(dir, 'approved_models.txt');
    await writeFile(approved, `# reviewed\n${MODEL_NAME} ${good}\n`);
    const check = ['infra/ci/check_model_approval.py', '--mlflow', mlflow.url];
    const failing = await script('python3', [...check, '--approved', approved]);
    expect(failing.code).toBe(1);
    expect(failing.out).toContain(`FAIL  challenger ${MODEL_NAME} ${corrupt} is not in`);
    expect(failing.out).toContain(`ok    champion   ${MODEL_NAME} ${good} is in`);
    await writeFile(approved, `${MODEL_NAME} ${good}\n${MODEL_NAME} ${corrupt}\n`);
    expect((await script('python3', [...check, '--approved', approved])).code).toBe(0);
  });

  it('fetch-model copies the champion into the local store layout, files checked by sha256', async () => {
    await setAlias(mlflow.url, 'champion', good);
    const out = join(dir, 'store');
    const env = { REEFGUARD_MLFLOW_TRACKING_URI: mlflow.url };
    const fetched = await script(
      'node_modules/.bin/tsx',
      ['infra/ci/fetch-model.ts', '--out', out],
      env,
    );
    expect(fetched.code).toBe(0);
    const versionDir = join(out, MODEL_NAME, good);
    expect(fetched.out.trim()).toBe(versionDir);
    const card = JSON.parse(await readFile(join(versionDir, 'model-card.json'), 'utf8'));
    expect(Object.values(card.files).length).toBeGreaterThan(0);

    await setAlias(mlflow.url, 'champion', corrupt);
    const rejected = await script(
      'node_modules/.bin/tsx',
      ['infra/ci/fetch-model.ts', '--out', out],
      env,
    );
    expect(rejected.code).toBe(1);
    expect(rejected.out).toMatch(/model\.onnx downloaded with sha256 [0-9a-f]{64}, card says/);
  });
});
