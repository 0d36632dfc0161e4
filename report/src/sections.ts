import { readdir, readFile } from 'node:fs/promises';
import { InputFormatError } from '@reefguard/core';

/**
 * One part of the report: its data, or why it is missing. A report is written from whatever
 * a state dir holds; a part that cannot be built says why instead of failing the whole report.
 */
export type Section<T> = { ok: true; value: T } | { ok: false; reason: string };

export const present = <T>(value: T): Section<T> => ({ ok: true, value });
export const missing = <T>(reason: string): Section<T> => ({ ok: false, reason });

/** Runs `load`; a thrown error becomes the section's reason (with its cause's message). */
export async function loadSection<T>(load: () => Promise<Section<T>>): Promise<Section<T>> {
  try {
    return await load();
  } catch (error) {
    return missing(describeError(error));
  }
}

export function describeError(error: unknown): string {
  if (!(error instanceof Error)) return String(error);
  const cause = error.cause instanceof Error ? `: ${error.cause.message}` : '';
  return `${error.message}${cause}`;
}

/** The file's JSON, `undefined` when it does not exist, an InputFormatError naming it when bad. */
export async function readJsonFile(path: string): Promise<unknown> {
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw error;
  }
  try {
    return JSON.parse(text);
  } catch (cause) {
    throw new InputFormatError(`${path} is not JSON`, { cause });
  }
}

/** Every line of a JSON Lines file (empty when it does not exist); a bad line is named. */
export async function readJsonLines(path: string): Promise<unknown[]> {
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return [];
    throw error;
  }
  return text
    .split('\n')
    .map((line, i) => ({ line, number: i + 1 }))
    .filter(({ line }) => line.trim() !== '')
    .map(({ line, number }) => {
      try {
        return JSON.parse(line) as unknown;
      } catch (cause) {
        throw new InputFormatError(`${path}:${number} is not a JSON line`, { cause });
      }
    });
}

/** Names in a folder (empty when the folder does not exist), sorted. */
export async function listDir(path: string): Promise<string[]> {
  try {
    return (await readdir(path)).sort();
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return [];
    throw error;
  }
}
