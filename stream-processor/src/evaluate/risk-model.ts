import { createHash } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { type ModelCard, ModelError, modelCardSchema } from '@reefguard/core';
import * as ort from 'onnxruntime-node';

/** The exported ONNX model and its card, scored in batches. */
export interface RiskModel {
  readonly card: ModelCard;
  /**
   * Probability of moderate-or-worse bleaching per row. `features` is float32 [rows,
   * card.features] in card order (NaN = unknown); `chips` float32 [rows, C, S, S] when the
   * card has a chip spec.
   */
  predict(
    features: Float32Array,
    chips: Float32Array | undefined,
    rows: number,
  ): Promise<Float32Array>;
  close(): Promise<void>;
}

/** Rows per onnxruntime call: bounds memory for chip inputs (16x16x6 floats per row). */
const BATCH_ROWS = 4096;
/** Name of the chip input of the ONNX graph (ONNX convention shared with the trainer). */
export const CHIP_INPUT = 'chips';

/**
 * Opens `dir/model-card.json` and the ONNX file it names, refusing a card that breaks the
 * contract or a file whose sha256 disagrees, the way serving loads models.
 */
export async function openRiskModel(dir: string): Promise<RiskModel> {
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
  const sha256 = createHash('sha256').update(bytes).digest('hex');
  if (sha256 !== file.sha256) {
    throw new ModelError(`${dir}/${file.path} has sha256 ${sha256}, its card says ${file.sha256}`);
  }
  const session = await ort.InferenceSession.create(bytes).catch((cause: unknown) => {
    throw new ModelError(`onnxruntime could not load ${dir}/${file.path}`, { cause });
  });
  const width = card.features.length;
  const chip = card.chip;
  const chipSize = chip ? chip.channels.length * chip.size_px * chip.size_px : 0;
  return {
    card,
    async predict(features, chips, rows) {
      if (chip && chips === undefined) throw new ModelError(`model ${card.version} needs chips`);
      const risk = new Float32Array(rows);
      for (let start = 0; start < rows; start += BATCH_ROWS) {
        const n = Math.min(BATCH_ROWS, rows - start);
        const feeds: Record<string, ort.Tensor> = {
          [file.input]: new ort.Tensor(
            'float32',
            features.subarray(start * width, (start + n) * width),
            [n, width],
          ),
        };
        if (chip && chips) {
          feeds[CHIP_INPUT] = new ort.Tensor(
            'float32',
            chips.subarray(start * chipSize, (start + n) * chipSize),
            [n, chip.channels.length, chip.size_px, chip.size_px],
          );
        }
        const output = (await session.run(feeds))[file.output];
        if (!output || output.data.length !== n) {
          throw new ModelError(`model ${card.version} returned no ${file.output} of ${n} rows`);
        }
        risk.set(output.data as Float32Array, start);
      }
      return risk;
    },
    close: () => session.release(),
  };
}
