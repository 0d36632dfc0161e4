import type { FeatureName } from '@reefguard/core';

/** The two observation formats the product accepts, for training and for `evaluate`. */
export type ObservationSource = 'gbr-aerial' | 'gcbd';

/** One labelled observation: a site, the date its features are known at, and the outcome. */
export interface Observation {
  readonly source: ObservationSource;
  readonly siteId: string;
  /** Held-out group: whole bleaching year per source, e.g. `gbr-1998`, `gcbd-2005`. */
  readonly event: string;
  readonly year: number;
  /** ISO date (YYYY-MM-DD) at which every feature of the row is known. */
  readonly asOf: string;
  readonly lat: number;
  readonly lon: number;
  /** 1 for moderate-or-worse bleaching (GBR category >= 2, or >= 10 % bleached). */
  readonly label: 0 | 1;
  /** The observation as published: GBR category 0-4 or percent of corals bleached. */
  readonly severity: number;
  /** Where the observation was read: file and 1-based data row. */
  readonly origin: { readonly path: string; readonly row: number };
  /** GBR: index of the matched reef pixel in the GBR context. */
  readonly pixel?: number;
  /** GCBD: features harmonised from the row's own CoRTAD statistics. */
  readonly features?: Partial<Record<FeatureName, number | null>>;
}

/** A row that was not used, with a machine-readable reason and the column at fault. */
export interface QuarantinedRow {
  readonly path: string;
  /** 1-based data row of the file (header excluded). */
  readonly row: number;
  readonly column: string;
  readonly reason: string;
  readonly value: string | null;
}

/** What parsing one or more files yields: good rows kept, bad rows explained. */
export interface ParsedObservations {
  readonly observations: Observation[];
  readonly quarantined: QuarantinedRow[];
  /** Counts of cells left out on purpose, not errors (e.g. `not_surveyed`: a blank category). */
  readonly skipped: Record<string, number>;
  /** Counts of cells read in a documented way, their row kept (e.g. a fill value as missing). */
  readonly adjusted: Record<string, number>;
}

/** Adds one to `counts[key]`. */
export function countOnce(counts: Record<string, number>, key: string): void {
  counts[key] = (counts[key] ?? 0) + 1;
}

/** Values the files use for "missing". */
const MISSING = new Set(['', 'na', 'nan', 'nd', 'null', 'none']);

/** A row with no value in any cell (a spreadsheet's trailing `,,,,` line): skipped, counted. */
export function isEmptyRow(cells: readonly (string | null)[]): boolean {
  return cells.every((cell) => cell === null || cell.trim() === '');
}

/** A cell as a number, `null` when missing, `NaN` when present but not a number. */
export function parseNumber(value: string | null | undefined): number | null {
  if (value === null || value === undefined) return null;
  const trimmed = value.trim();
  if (MISSING.has(trimmed.toLowerCase())) return null;
  const parsed = Number(trimmed);
  return Number.isFinite(parsed) ? parsed : Number.NaN;
}
