import type { BuoyReading } from '@reefguard/core';

/** A chunk of readings and the position after it, to resume from after a restart. */
export interface SourceBatch {
  readings: BuoyReading[];
  /** Opaque resume point; the agent stores it only after the batch is in the outbox. */
  cursor: string;
  /** Records the source could not turn into readings, with why. */
  rejected?: { reason: string; record: string }[];
}

/** Where readings come from: AIMS, a replay file or generator, a local line feed. */
export interface ReadingSource {
  readonly kind: BuoyReading['source'];
  /** Batches in time order, starting after `resumeFrom`; ends when the source has no more. */
  batches(signal: AbortSignal, resumeFrom?: string): AsyncIterable<SourceBatch>;
  close(): Promise<void>;
}
