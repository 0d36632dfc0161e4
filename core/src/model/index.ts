export {
  CHIP_INPUT,
  type LoadModelOptions,
  loadModel,
  MAX_BATCH_ROWS,
  type Model,
  type ModelInputs,
} from './load-model.js';
export { MODEL_CARD_FILE, readCheckedFile, readModelCard, sha256Of } from './model-card-file.js';
export type { OnnxBackend } from './onnx-session.js';
