import { join } from 'node:path';
import {
  InputFormatError,
  type ModelCard,
  modelCardSchema,
  trainingSetManifestSchema,
} from '@reefguard/core';
import { listDir, readJsonFile } from './sections.js';

/** One registered version in the local model store, with its card. */
export interface StoredModel {
  name: string;
  version: string;
  card: ModelCard;
}

export interface ModelStore {
  models: StoredModel[];
  /** name -> alias -> version, from each model's aliases.json. */
  aliases: Record<string, Record<string, string>>;
}

/**
 * The local model store as the trainer writes it: `models/<name>/<version>/model-card.json`
 * and `models/<name>/aliases.json`. A card that breaks its contract is an error naming it.
 */
export async function readModelStore(stateDir: string): Promise<ModelStore> {
  const root = join(stateDir, 'models');
  const models: StoredModel[] = [];
  const aliases: ModelStore['aliases'] = {};
  for (const name of await listDir(root)) {
    const aliasFile = await readJsonFile(join(root, name, 'aliases.json'));
    if (aliasFile !== undefined) aliases[name] = aliasFile as Record<string, string>;
    for (const version of await listDir(join(root, name))) {
      const path = join(root, name, version, 'model-card.json');
      const raw = await readJsonFile(path).catch(() => undefined);
      if (raw === undefined) continue;
      const parsed = modelCardSchema.safeParse(raw);
      if (!parsed.success) {
        const issue = parsed.error.issues[0];
        throw new InputFormatError(
          `${path} breaks the model-card contract at ${issue?.path.join('.')}: ${issue?.message}`,
        );
      }
      models.push({ name, version, card: parsed.data });
    }
  }
  models.sort((a, b) => a.name.localeCompare(b.name) || versionOrder(a.version, b.version));
  return { models, aliases };
}

function versionOrder(a: string, b: string): number {
  const [x, y] = [Number(a), Number(b)];
  return Number.isFinite(x) && Number.isFinite(y) ? x - y : a.localeCompare(b);
}

/** A training set the backfill exported: where, its data version and size. */
export interface TrainingSetInfo {
  dir: string;
  dataVersion: string;
  createdAt: string;
  rows: number;
  positives: number;
  /** Labelled events (e.g. gbr-2002), with their rows. */
  events: { event: string; rows: number }[];
}

/** Every `<stateDir>/<dir>/manifest.json` that is a training-set manifest. */
export async function readTrainingSets(stateDir: string): Promise<TrainingSetInfo[]> {
  const sets: TrainingSetInfo[] = [];
  for (const dir of await listDir(stateDir)) {
    const raw = await readJsonFile(join(stateDir, dir, 'manifest.json')).catch(() => undefined);
    const parsed = trainingSetManifestSchema.safeParse(raw);
    if (!parsed.success) continue;
    sets.push({
      dir,
      dataVersion: parsed.data.data_version,
      createdAt: parsed.data.created_at,
      rows: parsed.data.rows,
      positives: parsed.data.positives,
      events: parsed.data.events.map((e) => ({ event: e.event, rows: e.rows })),
    });
  }
  return sets;
}

/** A registered version as the MLflow registry knows it. */
export interface MlflowVersion {
  name: string;
  version: string;
  runId: string | null;
  source: string;
  aliases: string[];
  createdAt: string;
}

const MLFLOW_TIMEOUT_MS = 10_000;

/**
 * The versions of `name` in an MLflow tracking server (REST API 2.0), with their runs and
 * aliases. Fails with a message naming the server when it cannot be asked.
 */
export async function readMlflowVersions(baseUrl: string, name: string): Promise<MlflowVersion[]> {
  const ask = async (path: string) => {
    const url = new URL(path, baseUrl.endsWith('/') ? baseUrl : `${baseUrl}/`);
    let response: Response;
    try {
      response = await fetch(url, { signal: AbortSignal.timeout(MLFLOW_TIMEOUT_MS) });
    } catch (cause) {
      throw new InputFormatError(`MLflow at ${baseUrl} cannot be reached`, { cause });
    }
    if (response.status === 404) return null;
    if (!response.ok) {
      throw new InputFormatError(`MLflow at ${baseUrl} answered ${response.status} for ${path}`);
    }
    return (await response.json()) as Record<string, unknown>;
  };
  const filter = encodeURIComponent(`name='${name}'`);
  const found = await ask(`api/2.0/mlflow/model-versions/search?filter=${filter}`);
  const registered = await ask(
    `api/2.0/mlflow/registered-models/get?name=${encodeURIComponent(name)}`,
  );
  const aliasList =
    ((registered?.registered_model as Record<string, unknown> | undefined)?.aliases as
      | { alias: string; version: string }[]
      | undefined) ?? [];
  const versions = (found?.model_versions as Record<string, unknown>[] | undefined) ?? [];
  return versions
    .map((v) => {
      const version = String(v.version);
      return {
        name,
        version,
        runId: typeof v.run_id === 'string' && v.run_id !== '' ? v.run_id : null,
        source: String(v.source ?? ''),
        aliases: aliasList.filter((a) => a.version === version).map((a) => a.alias),
        createdAt: new Date(Number(v.creation_timestamp ?? 0)).toISOString(),
      };
    })
    .sort((a, b) => versionOrder(a.version, b.version));
}

/**
 * What each later training set changed against the first one (oldest `createdAt`): data
 * version, rows and labelled events, in words; empty with fewer than two sets.
 */
export function trainingSetChanges(sets: TrainingSetInfo[]): string[] {
  const ordered = [...sets].sort((a, b) => a.createdAt.localeCompare(b.createdAt));
  const [first, ...later] = ordered;
  if (!first) return [];
  const latestYear = (t: TrainingSetInfo) =>
    Math.max(
      ...t.events.map((e) => Number(e.event.match(/(\d{4})$/)?.[1])).filter(Number.isFinite),
    );
  return later.map((t) => {
    if (t.dataVersion === first.dataVersion) {
      return `${t.dir}: the same data as ${first.dir} (data version ${t.dataVersion.slice(0, 12)}, ${t.rows} rows, ${t.events.length} labelled events, the latest in ${latestYear(t)}): nothing labelled was added, so a model trained on it learns from the same rows`;
    }
    const added = t.events.filter((e) => !first.events.some((f) => f.event === e.event));
    const dropped = first.events.filter((f) => !t.events.some((e) => e.event === f.event));
    const delta = t.rows - first.rows;
    return `${t.dir}: data version ${t.dataVersion.slice(0, 12)} instead of ${first.dataVersion.slice(0, 12)}: ${delta >= 0 ? '+' : ''}${delta} rows, ${t.positives - first.positives >= 0 ? '+' : ''}${t.positives - first.positives} positives${added.length ? `, new events ${added.map((e) => e.event).join(', ')}` : ''}${dropped.length ? `, events no longer in it ${dropped.map((e) => e.event).join(', ')}` : ''}`;
  });
}
