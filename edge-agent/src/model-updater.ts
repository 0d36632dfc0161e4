import { createPublicKey, verify } from 'node:crypto';
import { mkdir, readFile, rename, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import {
  loadModel,
  MODEL_CARD_FILE,
  type Model,
  type ModelAnnouncement,
  ModelError,
  modelAnnouncementSchema,
  type OnnxBackend,
  readModelCard,
  sha256Of,
  TransportError,
} from '@reefguard/core';
import type { Logger } from 'pino';
import { takesAnnouncement } from './canary.js';
import type { AgentMetrics } from './metrics.js';
import type { ModelSlot } from './model-slot.js';

export interface ModelUpdaterOptions {
  agentId: string;
  /** Where downloaded models live, one folder per version, plus `current.json`. */
  modelsDir: string;
  slot: ModelSlot;
  backend: OnnxBackend;
  logger: Logger;
  metrics?: AgentMetrics;
  /** Ed25519 public key (PEM): when set, `{url}.sig` must be a valid signature of the file. */
  publicKeyPem?: string;
  fetch?: typeof fetch;
  downloadTimeoutMs?: number;
}

export type UpdateOutcome =
  | 'swapped'
  | 'rolled-back'
  | 'not-in-cohort'
  | 'already-running'
  | 'rejected';

export interface ModelUpdater {
  /** Loads the model `current.json` names, if any (at start-up). */
  restore(): Promise<Model | null>;
  /** Validates an announcement and acts on it; never throws for a bad one, it reports it. */
  handle(payload: unknown): Promise<UpdateOutcome>;
  /** Which alias a model was announced as (a model from MODEL_DIR counts as champion). */
  variantOf(model: Model): 'champion' | 'challenger';
}

const CURRENT_FILE = 'current.json';

/**
 * Follows model announcements: download, sha256 (and signature) check, load, smoke
 * prediction, then an atomic swap, keeping the old model for instant rollback. A model that
 * fails any step is rejected and the running one keeps serving.
 */
export function createModelUpdater(options: ModelUpdaterOptions): ModelUpdater {
  const { slot, logger, metrics } = options;
  const doFetch = options.fetch ?? fetch;
  const timeoutMs = options.downloadTimeoutMs ?? 60_000;
  // Announcements are handled one at a time, in arrival order.
  let chain: Promise<unknown> = Promise.resolve();
  const challengers = new WeakSet<Model>();

  async function download(url: string): Promise<Uint8Array> {
    const response = await doFetch(url, { signal: AbortSignal.timeout(timeoutMs) }).catch(
      (cause: unknown) => {
        throw new TransportError(`could not download ${url}`, { cause });
      },
    );
    if (!response.ok) throw new TransportError(`download of ${url} answered ${response.status}`);
    return new Uint8Array(await response.arrayBuffer());
  }

  async function fetchModel(announcement: ModelAnnouncement): Promise<string> {
    const onnx = await download(announcement.url);
    const sha256 = sha256Of(onnx);
    if (sha256 !== announcement.sha256) {
      throw new ModelError(
        `downloaded ${announcement.url} has sha256 ${sha256}, the announcement says ${announcement.sha256}: corrupt or tampered, kept the running model`,
      );
    }
    if (options.publicKeyPem) {
      const signature = Buffer.from(
        new TextDecoder().decode(await download(`${announcement.url}.sig`)).trim(),
        'base64',
      );
      if (!verify(null, onnx, createPublicKey(options.publicKeyPem), signature)) {
        throw new ModelError(
          `signature of ${announcement.url} does not verify with the configured key`,
        );
      }
    }
    const cardUrl = announcement.card_url ?? new URL(MODEL_CARD_FILE, announcement.url).toString();
    const card = await download(cardUrl);
    const folder = `${safeName(announcement.name)}-${safeName(announcement.version)}-${sha256.slice(0, 12)}`;
    const dir = join(options.modelsDir, folder);
    const staging = `${dir}.partial`;
    await rm(staging, { recursive: true, force: true });
    await mkdir(staging, { recursive: true });
    await writeFile(join(staging, MODEL_CARD_FILE), card);
    const { files } = await readModelCard(staging);
    await writeFile(join(staging, files.model.path), onnx);
    await rm(dir, { recursive: true, force: true });
    await rename(staging, dir);
    return dir;
  }

  /** One row at the training means must give a probability, or the model is unusable. */
  async function smokeTest(model: Model) {
    const features = Float32Array.from(model.card.features.map((f) => f.mean));
    const chip = model.card.chip;
    const chips = chip ? new Float32Array(chip.channels.length * chip.size_px ** 2) : undefined;
    const [risk] = await model.predict({ features, chips }, 1);
    if (risk === undefined || !(risk >= 0 && risk <= 1)) {
      throw new ModelError(
        `smoke prediction of ${model.card.version} gave ${risk}, not a probability`,
      );
    }
  }

  async function recordCurrent(dir: string, model: Model, alias: ModelAnnouncement['alias']) {
    const tmp = join(options.modelsDir, `${CURRENT_FILE}.tmp`);
    await writeFile(
      tmp,
      JSON.stringify({ dir, version: model.card.version, sha256: model.sha256, alias }),
    );
    await rename(tmp, join(options.modelsDir, CURRENT_FILE));
  }

  function report(model: Model | null) {
    metrics?.modelInfo.reset();
    if (model)
      metrics?.modelInfo.set(
        { name: model.card.name, version: model.card.version, sha256: model.sha256 },
        1,
      );
  }

  async function apply(payload: unknown): Promise<UpdateOutcome> {
    const parsed = modelAnnouncementSchema.safeParse(payload);
    if (!parsed.success) {
      logger.warn({ issues: parsed.error.issues }, 'ignored an invalid model announcement');
      return 'rejected';
    }
    const announcement = parsed.data;
    const log = logger.child({
      model: announcement.name,
      version: announcement.version,
      decision: announcement.decision,
      trace_id: announcement.trace_id,
    });
    if (!takesAnnouncement(options.agentId, announcement)) return 'not-in-cohort';
    const running = slot.current();
    if (running?.sha256 === announcement.sha256) return 'already-running';
    const previous = slot.previous();
    if (announcement.decision === 'rollback' && previous?.sha256 === announcement.sha256) {
      await slot.rollback();
      report(slot.current());
      log.warn('rolled back to the previous model');
      return 'rolled-back';
    }
    try {
      const dir = await fetchModel(announcement);
      const model = await loadModel({ dir, backend: options.backend });
      try {
        await smokeTest(model);
      } catch (error) {
        await model.close();
        throw error;
      }
      if (announcement.alias === 'challenger') challengers.add(model);
      await slot.swap(model);
      await recordCurrent(dir, model, announcement.alias);
      report(model);
      log.info({ sha256: model.sha256, from: running?.card.version ?? null }, 'model swapped');
      return 'swapped';
    } catch (error) {
      log.error(
        { err: error, running: running?.card.version ?? null },
        'model update rejected, the running model stays',
      );
      return 'rejected';
    }
  }

  return {
    async restore() {
      const text = await readFile(join(options.modelsDir, CURRENT_FILE), 'utf8').catch(() => null);
      if (text === null) return null;
      const { dir, alias } = JSON.parse(text) as { dir: string; alias?: string };
      const model = await loadModel({ dir, backend: options.backend });
      if (alias === 'challenger') challengers.add(model);
      await slot.swap(model);
      report(model);
      return model;
    },
    handle(payload) {
      const result = chain.then(() => apply(payload));
      chain = result.catch(() => undefined);
      return result.then((outcome) => {
        metrics?.modelUpdates.inc({ outcome });
        return outcome;
      });
    },
    variantOf: (model) => (challengers.has(model) ? 'challenger' : 'champion'),
  };
}

function safeName(text: string): string {
  return text.replace(/[^A-Za-z0-9._-]/g, '_');
}
