import { existsSync } from 'node:fs';
import { mkdir, rename, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { ModelError, NotFoundError, type Secret, TransportError } from '@reefguard/core';
import { sha256Hex } from './model-session.js';
import { type Alias, type ModelRegistry, parseCard } from './registry.js';

export interface MlflowRegistryOptions {
  trackingUri: string;
  token?: Secret;
  name: string;
  /** Where downloaded versions are kept: `<cacheDir>/<name>/<version>/`. */
  cacheDir: string;
}

interface ModelVersion {
  name: string;
  version: string;
  source: string;
  aliases?: string[];
}

/**
 * The MLflow model registry over its REST API (2.0 routes, served by `mlflow server`).
 * Artifacts are read through the server's artifact proxy (`mlflow-artifacts:/` URIs), so
 * serving never needs the artifact store's credentials.
 */
export function createMlflowRegistry(options: MlflowRegistryOptions): ModelRegistry {
  const base = options.trackingUri.replace(/\/$/, '');
  const { name } = options;
  const headers: Record<string, string> = { 'content-type': 'application/json' };
  if (options.token) headers.authorization = `Bearer ${options.token.reveal()}`;

  async function call(method: string, path: string, body?: unknown): Promise<Response> {
    try {
      return await fetch(`${base}${path}`, {
        method,
        headers,
        body: body === undefined ? undefined : JSON.stringify(body),
        signal: AbortSignal.timeout(30_000),
      });
    } catch (cause) {
      throw new TransportError(`MLflow at ${base} did not answer ${method} ${path}`, { cause });
    }
  }

  async function json<T>(method: string, path: string, body?: unknown): Promise<T> {
    const response = await call(method, path, body);
    const text = await response.text();
    if (!response.ok) {
      throw new TransportError(`MLflow ${method} ${path} answered ${response.status}: ${text}`);
    }
    return (text === '' ? {} : JSON.parse(text)) as T;
  }

  /** `mlflow-artifacts:/a/b` -> the proxy path `a/b`; other schemes are not proxied. */
  function proxyPath(uri: string): string {
    const match = /^mlflow-artifacts:(?:\/\/[^/]*)?\/(.*)$/.exec(uri);
    if (!match?.[1]) {
      throw new ModelError(
        `artifact URI ${uri} is not served by the MLflow artifact proxy: start mlflow server with --artifacts-destination`,
      );
    }
    return match[1].replace(/\/$/, '');
  }

  async function downloadUri(version: string): Promise<string> {
    const q = new URLSearchParams({ name, version });
    const { artifact_uri } = await json<{ artifact_uri: string }>(
      'GET',
      `/api/2.0/mlflow/model-versions/get-download-uri?${q}`,
    );
    return proxyPath(artifact_uri);
  }

  async function artifact(path: string): Promise<Uint8Array> {
    const response = await call('GET', `/api/2.0/mlflow-artifacts/artifacts/${path}`);
    if (!response.ok) {
      throw new TransportError(`MLflow artifact ${path} answered ${response.status}`);
    }
    return new Uint8Array(await response.arrayBuffer());
  }

  return {
    kind: 'mlflow',
    async getAlias(alias) {
      const q = new URLSearchParams({ name, alias });
      const response = await call('GET', `/api/2.0/mlflow/registered-models/alias?${q}`);
      if (response.status === 404 || response.status === 400) return null;
      if (!response.ok) throw new TransportError(`MLflow alias lookup answered ${response.status}`);
      const { model_version } = (await response.json()) as { model_version: ModelVersion };
      return model_version.version;
    },
    async setAlias(alias: Alias, version: string) {
      await json('POST', '/api/2.0/mlflow/registered-models/alias', { name, alias, version });
    },
    async deleteAlias(alias: Alias) {
      const q = new URLSearchParams({ name, alias });
      const response = await call('DELETE', `/api/2.0/mlflow/registered-models/alias?${q}`, {
        name,
        alias,
      });
      if (!response.ok && response.status !== 404) {
        throw new TransportError(`MLflow alias delete answered ${response.status}`);
      }
    },
    async latestVersion() {
      const q = new URLSearchParams({ filter: `name='${name}'`, max_results: '1000' });
      const { model_versions = [] } = await json<{ model_versions?: ModelVersion[] }>(
        'GET',
        `/api/2.0/mlflow/model-versions/search?${q}`,
      );
      if (model_versions.length === 0) return null;
      return String(Math.max(...model_versions.map((v) => Number(v.version))));
    },
    async readCard(version) {
      const root = await downloadUri(version);
      const text = new TextDecoder().decode(await artifact(`${root}/model-card.json`));
      return parseCard(text, `model ${name} version ${version} model-card.json`);
    },
    async fetch(version) {
      const dir = join(options.cacheDir, name, version);
      if (existsSync(join(dir, 'model-card.json'))) return dir;
      const root = await downloadUri(version).catch((cause: unknown) => {
        throw new NotFoundError(`model ${name} version ${version} is not registered`, { cause });
      });
      const cardBytes = await artifact(`${root}/model-card.json`);
      const card = parseCard(new TextDecoder().decode(cardBytes), `${name} v${version} card`);
      // Download into a scratch folder and rename: a half-downloaded version is never used.
      const tmp = `${dir}.${process.pid}.partial`;
      await rm(tmp, { recursive: true, force: true });
      await mkdir(tmp, { recursive: true });
      for (const file of Object.values(card.files)) {
        const bytes = await artifact(`${root}/${file.path}`);
        const sha256 = sha256Hex(bytes);
        if (sha256 !== file.sha256) {
          await rm(tmp, { recursive: true, force: true });
          throw new ModelError(
            `${name} version ${version}: ${file.path} downloaded with sha256 ${sha256}, card says ${file.sha256}`,
          );
        }
        await mkdir(join(tmp, file.path, '..'), { recursive: true });
        await writeFile(join(tmp, file.path), bytes);
      }
      await writeFile(join(tmp, 'model-card.json'), cardBytes);
      await rm(dir, { recursive: true, force: true });
      await mkdir(join(dir, '..'), { recursive: true });
      await rename(tmp, dir);
      return dir;
    },
    async close() {},
  };
}
