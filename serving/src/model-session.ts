import { createHash } from 'node:crypto';
import { loadModel, type ModelCard, ModelError } from '@reefguard/core';

/** A warm ONNX session (core's `loadModel`, onnxruntime-node) under its registry version. */
export interface ServingModel {
  readonly card: ModelCard;
  /** The registry version (what aliases point at), not necessarily the card's own string. */
  readonly version: string;
  /** sha256 of the ONNX file, checked against the card at load. */
  readonly sha256: string;
  readonly dir: string;
  /** Risk for `nRows` rows of `card.features` values (row-major); never NaN or outside [0, 1]. */
  predict(features: Float32Array, nRows: number): Promise<Float32Array>;
  close(): Promise<void>;
}

export function sha256Hex(data: Uint8Array): string {
  return createHash('sha256').update(data).digest('hex');
}

/** Loads a model folder (card + sha256-checked ONNX file) for serving. */
export async function loadServingModel(dir: string, version?: string): Promise<ServingModel> {
  const model = await loadModel({ dir, backend: 'node' });
  const name = version ?? model.card.version;
  return {
    card: model.card,
    version: name,
    sha256: model.sha256,
    dir,
    async predict(features, nRows) {
      const risk = await model.predict({ features }, nRows);
      for (const value of risk) {
        // A broken model must fail loudly: the canary counts it and the champion answers.
        if (!(value >= 0 && value <= 1)) {
          throw new ModelError(`model ${name} returned risk ${value} outside [0, 1]`);
        }
      }
      return risk;
    },
    close: () => model.close(),
  };
}
