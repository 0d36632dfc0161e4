import { existsSync } from 'node:fs';
import { mkdir, readdir, readFile, rename, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { type ModelCard, ModelError, modelCardSchema, NotFoundError } from '@reefguard/core';

export const ALIASES = ['champion', 'challenger'] as const;
export type Alias = (typeof ALIASES)[number];

/** The model registry as serving and promotion need it: aliases, cards and files. */
export interface ModelRegistry {
  readonly kind: 'mlflow' | 'local';
  /** Version the alias points at, or null when it is not set. */
  getAlias(alias: Alias): Promise<string | null>;
  setAlias(alias: Alias, version: string): Promise<void>;
  deleteAlias(alias: Alias): Promise<void>;
  /** The highest registered version number, or null when none is registered. */
  latestVersion(): Promise<string | null>;
  readCard(version: string): Promise<ModelCard>;
  /** A local folder holding the version's card and ONNX files (checked at load). */
  fetch(version: string): Promise<string>;
  close(): Promise<void>;
}

export function parseCard(text: string, where: string): ModelCard {
  try {
    return modelCardSchema.parse(JSON.parse(text));
  } catch (cause) {
    throw new ModelError(`${where} is not a valid model card`, { cause });
  }
}

/**
 * The trainer's local model store, used when no MLflow server is configured:
 * `<root>/<name>/<version>/{model-card.json, *.onnx}` and `<root>/<name>/aliases.json`.
 */
export function createLocalRegistry(root: string, name: string): ModelRegistry {
  const modelDir = join(root, name);
  const aliasesPath = join(modelDir, 'aliases.json');
  const readAliases = async (): Promise<Partial<Record<Alias, string>>> =>
    existsSync(aliasesPath) ? JSON.parse(await readFile(aliasesPath, 'utf8')) : {};
  const writeAliases = async (aliases: Partial<Record<Alias, string>>) => {
    await mkdir(modelDir, { recursive: true });
    // Write then rename: a reader never sees half a file.
    const tmp = `${aliasesPath}.${process.pid}.tmp`;
    await writeFile(tmp, `${JSON.stringify(aliases, null, 2)}\n`);
    await rename(tmp, aliasesPath);
  };
  const versionDir = (version: string) => {
    const dir = join(modelDir, version);
    if (!existsSync(dir))
      throw new NotFoundError(`model ${name} version ${version} not in ${root}`);
    return dir;
  };
  return {
    kind: 'local',
    async getAlias(alias) {
      return (await readAliases())[alias] ?? null;
    },
    async setAlias(alias, version) {
      versionDir(version);
      await writeAliases({ ...(await readAliases()), [alias]: version });
    },
    async deleteAlias(alias) {
      const aliases = await readAliases();
      delete aliases[alias];
      await writeAliases(aliases);
    },
    async latestVersion() {
      if (!existsSync(modelDir)) return null;
      const versions = (await readdir(modelDir, { withFileTypes: true }))
        .filter((entry) => entry.isDirectory() && /^\d+$/.test(entry.name))
        .map((entry) => Number(entry.name));
      return versions.length === 0 ? null : String(Math.max(...versions));
    },
    async readCard(version) {
      const path = join(versionDir(version), 'model-card.json');
      return parseCard(await readFile(path, 'utf8'), path);
    },
    async fetch(version) {
      return versionDir(version);
    },
    async close() {},
  };
}
