import { createHash } from 'node:crypto';
import { loadModel, type ModelCard, ModelError, readCheckedFile } from '@reefguard/core';
import * as ort from 'onnxruntime-node';

/** A warm ONNX session (core's `loadModel`, onnxruntime-node) under its registry version. */
export interface ServingModel {
  readonly card: ModelCard;
  /** The registry version (what aliases point at), not necessarily the card's own string. */
  readonly version: string;
  /** sha256 of the ONNX file, checked against the card at load. */
  readonly sha256: string;
  readonly dir: string;
  /**
   * Risk for `nRows` rows of `card.features` values (row-major); never NaN or outside [0, 1].
   * A model whose card has `chip` needs `chips`, float32 [nRows, C, S, S].
   */
  predict(features: Float32Array, nRows: number, chips?: Float32Array): Promise<Float32Array>;
  /**
   * The ensemble's tabular member alone (card `files.tabular`, same features), for a degraded
   * answer when the chip layers are missing; null when the card ships none.
   */
  readonly tabular: {
    predict(features: Float32Array, nRows: number): Promise<Float32Array>;
  } | null;
  close(): Promise<void>;
}

/** Card `files` key of the tabular member of a chip ensemble. */
export const TABULAR_FILE = 'tabular';

function checkRisk(name: string, risk: Float32Array): Float32Array {
  for (const value of risk) {
    // A broken model must fail loudly: the canary counts it and the champion answers.
    if (!(value >= 0 && value <= 1)) {
      throw new ModelError(`model ${name} returned risk ${value} outside [0, 1]`);
    }
  }
  return risk;
}

async function loadTabular(dir: string, card: ModelCard, name: string) {
  const file = card.files[TABULAR_FILE];
  if (!file) return null;
  const { bytes } = await readCheckedFile(dir, file);
  const session = await ort.InferenceSession.create(bytes, {
    intraOpNumThreads: 1,
    interOpNumThreads: 1,
  }).catch((cause: unknown) => {
    throw new ModelError(`onnxruntime-node could not load ${dir}/${file.path}`, { cause });
  });
  const width = card.features.length;
  return {
    session,
    async predict(features: Float32Array, nRows: number) {
      const out = await session.run({
        [file.input]: new ort.Tensor('float32', features, [nRows, width]),
      });
      const data = out[file.output]?.data;
      if (!(data instanceof Float32Array) || data.length !== nRows) {
        throw new ModelError(
          `the tabular member of ${name} has no float32 output ${file.output} of ${nRows} values`,
        );
      }
      return checkRisk(`${name} (tabular member)`, data);
    },
  };
}

export function sha256Hex(data: Uint8Array): string {
  return createHash('sha256').update(data).digest('hex');
}

/** Loads a model folder (card + sha256-checked ONNX file) for serving. */
export async function loadServingModel(dir: string, version?: string): Promise<ServingModel> {
  const model = await loadModel({ dir, backend: 'node' });
  const name = version ?? model.card.version;
  const tabular = await loadTabular(dir, model.card, name).catch(async (error: unknown) => {
    await model.close();
    throw error;
  });
  return {
    card: model.card,
    version: name,
    sha256: model.sha256,
    dir,
    tabular,
    async predict(features, nRows, chips) {
      return checkRisk(name, await model.predict({ features, chips }, nRows));
    },
    async close() {
      await model.close();
      await tabular?.session.release();
    },
  };
}
