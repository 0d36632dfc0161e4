import { createHash } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { type ModelCard, ModelError, modelCardSchema } from '@reefguard/core';
import * as ort from 'onnxruntime-node';

/** A warm ONNX session and the card that describes its input. */
export interface ServingModel {
  readonly card: ModelCard;
  /** The registry version (what aliases point at), not necessarily the card's own string. */
  readonly version: string;
  /** sha256 of the ONNX file, checked against the card at load. */
  readonly sha256: string;
  readonly dir: string;
  /** Risk for `nRows` rows of `card.features` values (row-major). */
  predict(features: Float32Array, nRows: number): Promise<Float32Array>;
  close(): Promise<void>;
}

export function sha256Hex(data: Uint8Array): string {
  return createHash('sha256').update(data).digest('hex');
}

/** Loads `dir/model-card.json` and its ONNX file, refusing a file whose sha256 disagrees. */
export async function loadServingModel(dir: string, version?: string): Promise<ServingModel> {
  let card: ModelCard;
  try {
    card = modelCardSchema.parse(JSON.parse(await readFile(join(dir, 'model-card.json'), 'utf8')));
  } catch (cause) {
    throw new ModelError(`${dir}/model-card.json is missing or not a valid model card`, { cause });
  }
  const file = card.files.model;
  const bytes = await readFile(join(dir, file.path)).catch((cause: unknown) => {
    throw new ModelError(`${dir}/${file.path} named by the model card is missing`, { cause });
  });
  const sha256 = sha256Hex(bytes);
  if (sha256 !== file.sha256) {
    throw new ModelError(
      `${dir}/${file.path} has sha256 ${sha256} but its card says ${file.sha256}: re-download it`,
    );
  }
  const session = await ort.InferenceSession.create(bytes, {
    // One request is a handful of rows: threads cost more than they save on 2 cores.
    intraOpNumThreads: 1,
    interOpNumThreads: 1,
  }).catch((cause: unknown) => {
    throw new ModelError(`onnxruntime could not load ${dir}/${file.path}`, { cause });
  });
  const width = card.features.length;
  return {
    card,
    version: version ?? card.version,
    sha256,
    dir,
    async predict(features, nRows) {
      const input = new ort.Tensor('float32', features, [nRows, width]);
      const output = await session.run({ [file.input]: input });
      const risk = output[file.output]?.data;
      if (!(risk instanceof Float32Array) || risk.length !== nRows) {
        throw new ModelError(
          `model ${version ?? card.version} returned no ${file.output} of ${nRows} rows`,
        );
      }
      for (const value of risk) {
        if (!(value >= 0 && value <= 1)) {
          throw new ModelError(
            `model ${version ?? card.version} returned risk ${value} outside [0, 1]`,
          );
        }
      }
      return risk;
    },
    close: () => session.release(),
  };
}
