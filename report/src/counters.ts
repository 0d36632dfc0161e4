import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { InputFormatError } from '@reefguard/core';
import { listDir, readJsonFile } from './sections.js';

/** One sample of the Prometheus text format: `name{label="v",...} value`. */
export interface MetricSample {
  name: string;
  labels: Record<string, string>;
  value: number;
}

const SAMPLE = /^([A-Za-z_:][A-Za-z0-9_:]*)(?:\{(.*)\})?\s+(\S+)(?:\s+\d+)?$/;
const LABEL = /([A-Za-z_][A-Za-z0-9_]*)="((?:[^"\\]|\\.)*)"/g;

/** Parses the Prometheus text exposition format (comments skipped). */
export function parsePrometheusText(text: string): MetricSample[] {
  const samples: MetricSample[] = [];
  for (const line of text.split('\n')) {
    if (line === '' || line.startsWith('#')) continue;
    const match = SAMPLE.exec(line.trim());
    if (!match) throw new InputFormatError(`not a Prometheus sample: ${line.slice(0, 120)}`);
    const labels: Record<string, string> = {};
    for (const [, key, value] of (match[2] ?? '').matchAll(LABEL)) {
      labels[key as string] = (value as string).replace(/\\(.)/g, (_, c: string) =>
        c === 'n' ? '\n' : c,
      );
    }
    samples.push({ name: match[1] as string, labels, value: Number(match[3]) });
  }
  return samples;
}

/** Sum of the samples named `name` whose labels include `where`. */
export function sumSamples(
  samples: readonly MetricSample[],
  name: string,
  where: Record<string, string> = {},
): number {
  return samples
    .filter((s) => s.name === name && Object.entries(where).every(([k, v]) => s.labels[k] === v))
    .reduce((sum, s) => sum + s.value, 0);
}

/**
 * A component's counters as scraped at the end of a run (the processes are gone by the time
 * the report is written): `<stateDir>/counters/<component>.json`.
 */
export interface CounterSnapshot {
  component: 'edge-agent' | 'stream-processor' | 'serving';
  id: string;
  /** Edge agents: where they stand. */
  site_id?: string;
  station_id?: string;
  /** Edge agents: every buoy station the gateway carries (its own first); default [station_id]. */
  station_ids?: string[];
  scraped_at: string;
  samples: MetricSample[];
}

export async function writeCounterSnapshot(stateDir: string, snapshot: CounterSnapshot) {
  const dir = join(stateDir, 'counters');
  await mkdir(dir, { recursive: true });
  await writeFile(
    join(dir, `${snapshot.component}-${snapshot.id}.json`),
    `${JSON.stringify(snapshot)}\n`,
  );
}

export async function readCounterSnapshots(stateDir: string): Promise<CounterSnapshot[]> {
  const dir = join(stateDir, 'counters');
  const snapshots: CounterSnapshot[] = [];
  for (const name of await listDir(dir)) {
    if (!name.endsWith('.json')) continue;
    const raw = (await readJsonFile(join(dir, name))) as CounterSnapshot | undefined;
    if (!raw || !Array.isArray(raw.samples) || typeof raw.component !== 'string') {
      throw new InputFormatError(`${join(dir, name)} is not a counter snapshot`);
    }
    snapshots.push(raw);
  }
  return snapshots;
}
