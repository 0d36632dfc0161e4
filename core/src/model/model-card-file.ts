import { createHash } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { type ModelCard, modelCardSchema } from '../contracts/model-card.js';
import { ModelError } from '../errors.js';

/** The file every model directory holds next to the ONNX files it names. */
export const MODEL_CARD_FILE = 'model-card.json';

export function sha256Of(data: Uint8Array): string {
  return createHash('sha256').update(data).digest('hex');
}

/** Reads and validates `dir/model-card.json`. */
export async function readModelCard(dir: string): Promise<ModelCard> {
  let text: string;
  try {
    text = await readFile(join(dir, MODEL_CARD_FILE), 'utf8');
  } catch (cause) {
    throw new ModelError(`${dir}/${MODEL_CARD_FILE} is missing: is this a model directory?`, {
      cause,
    });
  }
  const parsed = modelCardSchema.safeParse(safeJson(text));
  if (!parsed.success) {
    throw new ModelError(
      `${dir}/${MODEL_CARD_FILE} is not a valid model card: ${parsed.error.issues
        .map((issue) => `${issue.path.join('.')}: ${issue.message}`)
        .join('; ')}`,
      { cause: parsed.error },
    );
  }
  return parsed.data;
}

/** Reads one ONNX file the card names, refusing it when its sha256 disagrees with the card. */
export async function readCheckedFile(
  dir: string,
  file: { path: string; sha256: string },
): Promise<{ bytes: Uint8Array; sha256: string }> {
  const bytes = await readFile(join(dir, file.path)).catch((cause: unknown) => {
    throw new ModelError(`${dir}/${file.path} named by the model card is missing`, { cause });
  });
  const sha256 = sha256Of(bytes);
  if (sha256 !== file.sha256) {
    throw new ModelError(
      `${dir}/${file.path} has sha256 ${sha256} but its card says ${file.sha256}: download it again`,
    );
  }
  return { bytes, sha256 };
}

function safeJson(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    return undefined;
  }
}
