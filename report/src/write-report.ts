import { mkdir, writeFile } from 'node:fs/promises';
import { dirname } from 'node:path';
import { renderReport } from './render-html.js';
import { type GatherOptions, gatherReport, type ReportData } from './report-data.js';

/** Gathers the state dir and writes the HTML report to `out`; returns what it showed. */
export async function writeReport(options: GatherOptions & { out: string }): Promise<ReportData> {
  const data = await gatherReport(options);
  await mkdir(dirname(options.out), { recursive: true });
  await writeFile(options.out, renderReport(data));
  return data;
}
