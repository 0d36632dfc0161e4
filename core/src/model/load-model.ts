import type { ModelCard } from '../contracts/model-card.js';
import { ModelError } from '../errors.js';
import { readCheckedFile, readModelCard } from './model-card-file.js';
import { type OnnxBackend, type OnnxSession, openOnnxSession } from './onnx-session.js';

/** ONNX convention shared with the trainer: the name of the optional ViT chip input. */
export const CHIP_INPUT = 'chips';

export interface ModelInputs {
  /** Row-major float32 [n, nFeatures], columns in `card.features` order; NaN = unknown. */
  features: Float32Array;
  /** Float32 [n, C, S, S] when `card.chip` is set. */
  chips?: Float32Array;
}

/** A loaded model: its card, the checksum of its ONNX file and a warm inference session. */
export interface Model {
  readonly card: ModelCard;
  /** sha256 of the main ONNX file, checked against the card at load. */
  readonly sha256: string;
  readonly backend: OnnxBackend;
  /** Probability of the card's label per row. */
  predict(inputs: ModelInputs, nRows: number): Promise<Float32Array>;
  close(): Promise<void>;
}

export interface LoadModelOptions {
  /** Directory holding model-card.json and the ONNX files it names. */
  dir: string;
  /** `node` (native onnxruntime-node, default) or `web` (onnxruntime-web's WASM backend). */
  backend?: OnnxBackend;
}

/** Rows per onnxruntime call: bounds the memory of chip inputs on large batches. */
export const MAX_BATCH_ROWS = 4096;

/**
 * Loads a model directory: validates the card, checks the ONNX file's sha256 against it and
 * opens an inference session on the chosen backend. Both backends give the same risks to 1e-5.
 */
export async function loadModel(options: LoadModelOptions): Promise<Model> {
  const { dir } = options;
  const backend = options.backend ?? 'node';
  const card = await readModelCard(dir);
  const file = card.files.model;
  const { bytes, sha256 } = await readCheckedFile(dir, file);
  const session = await openOnnxSession(bytes, backend).catch((cause: unknown) => {
    throw new ModelError(`onnxruntime-${backend} could not load ${dir}/${file.path}`, { cause });
  });
  return createModel(card, sha256, backend, session);
}

function createModel(
  card: ModelCard,
  sha256: string,
  backend: OnnxBackend,
  session: OnnxSession,
): Model {
  const file = card.files.model;
  const width = card.features.length;
  const chip = card.chip;
  const chipShape = chip ? [chip.channels.length, chip.size_px, chip.size_px] : [];
  const chipSize = chipShape.reduce((a, b) => a * b, 1);
  let closed = false;
  return {
    card,
    sha256,
    backend,
    async predict(inputs, nRows) {
      if (closed) throw new ModelError(`model ${card.version} is closed`);
      if (inputs.features.length !== nRows * width) {
        throw new ModelError(
          `model ${card.version} needs ${nRows} x ${width} features (${card.features
            .map((f) => f.name)
            .join(', ')}), got ${inputs.features.length} values`,
        );
      }
      if (chip && inputs.chips?.length !== nRows * chipSize) {
        throw new ModelError(
          `model ${card.version} needs chips float32 [${nRows}, ${chipShape.join(', ')}]`,
        );
      }
      const risk = new Float32Array(nRows);
      for (let start = 0; start < nRows; start += MAX_BATCH_ROWS) {
        const n = Math.min(MAX_BATCH_ROWS, nRows - start);
        const feeds = [
          {
            name: file.input,
            data: inputs.features.subarray(start * width, (start + n) * width),
            dims: [n, width],
          },
        ];
        if (chip && inputs.chips) {
          feeds.push({
            name: CHIP_INPUT,
            data: inputs.chips.subarray(start * chipSize, (start + n) * chipSize),
            dims: [n, ...chipShape],
          });
        }
        const out = await session.run(feeds, file.output);
        if (out.length !== n) {
          throw new ModelError(
            `model ${card.version} returned ${out.length} values of ${file.output} for ${n} rows`,
          );
        }
        risk.set(out, start);
      }
      return risk;
    },
    async close() {
      if (closed) return;
      closed = true;
      await session.close();
    },
  };
}
