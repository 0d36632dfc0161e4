import { existsSync } from 'node:fs';
import { readdir, readFile } from 'node:fs/promises';
import { basename, join, resolve } from 'node:path';
import { NotFoundError } from '@reefguard/core';

/** The registered name of the bleaching-risk model. */
export const MODEL_NAME = 'reefguard-bleaching-risk';
/** What `evaluate` scores when no model is given. */
export const DEFAULT_MODEL_ALIAS = 'champion';

const CARD_FILE = 'model-card.json';

/**
 * The state dir `make demo` / `./reefguard demo` uses by default (report's DEFAULT_DEMO_DIR),
 * relative to the workspace root: its model store holds the demo's champion.
 */
export const DEMO_STATE_DIR = '.reefguard/demo';

/** A model folder (`model-card.json` + ONNX) and the version it was found under. */
export interface ModelLocation {
  readonly dir: string;
  readonly version: string;
  readonly alias?: string;
}

/**
 * Finds a model in the local store `$STATE_DIR/models/<name>/<version>/` (aliases in
 * `aliases.json`): `ref` is a folder holding a model card, an alias, or a version.
 */
export async function resolveModel(
  stateDir: string,
  ref: string = DEFAULT_MODEL_ALIAS,
  name: string = MODEL_NAME,
): Promise<ModelLocation> {
  if (existsSync(join(ref, CARD_FILE)))
    return { dir: resolve(ref), version: basename(resolve(ref)) };
  const store = join(stateDir, 'models', name);
  const aliases = await readFile(join(store, 'aliases.json'), 'utf8')
    .then((text) => JSON.parse(text) as Record<string, string>)
    .catch(() => ({}) as Record<string, string>);
  const version = aliases[ref] ?? ref;
  const dir = join(store, version);
  if (!existsSync(join(dir, CARD_FILE))) {
    const versions = await readdir(store).catch(() => [] as string[]);
    throw new NotFoundError(
      `no model "${ref}" in ${store}: aliases ${JSON.stringify(aliases)}, versions [${versions.filter((v) => v !== 'aliases.json').join(', ')}]; train one with ./reefguard train or pass --model DIR`,
    );
  }
  return { dir, version, ...(aliases[ref] ? { alias: ref } : {}) };
}

/**
 * `resolveModel` over several state dirs in order: the first that holds `ref` wins (with the
 * state dir it came from). Lets `evaluate` without --model find the champion `make demo`
 * promoted when nothing was trained outside the demo. Throws the first store's error,
 * naming every store looked in, when none holds it.
 */
export async function resolveModelInStores(
  stateDirs: readonly string[],
  ref: string = DEFAULT_MODEL_ALIAS,
): Promise<ModelLocation & { stateDir: string }> {
  const errors: Error[] = [];
  for (const stateDir of stateDirs) {
    try {
      return { ...(await resolveModel(stateDir, ref)), stateDir };
    } catch (error) {
      if (!(error instanceof NotFoundError)) throw error;
      errors.push(error);
    }
  }
  const [first, ...others] = errors;
  throw new NotFoundError(
    [first?.message, ...others.map((e) => `also ${e.message.split(':')[0]}`)].join('; '),
  );
}
