import { existsSync } from 'node:fs';
import { isAbsolute, join, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { commonSettings, loadConfig } from '@reefguard/core';
import { workspaceRoot } from '@reefguard/core/cli/workspace';
import { z } from 'zod';
import { summarizeReport } from './render-html.js';
import { writeReport } from './write-report.js';

const USAGE = `usage: ./reefguard report [--state-dir DIR] [--out FILE.html] [--mlflow URL]

Writes one self-contained HTML file (inline SVG, no external URL) from what a run left in
its state dir: the risk map served (risk-map.geojson), skill against the NOAA CRW baseline
per held-out event (model cards), PSI drift over time (events/drift.jsonl, else recomputed
from the DuckDB offline store), promotion / canary / rollback decisions with their gates
(serving/audit.jsonl, events/models.jsonl), lineage from data versions to model versions,
aliases, MLflow runs and trace ids, and readings sent (edge-agent counters) vs received vs
stored (DuckDB) vs quarantined, with "sent == stored" checked. A part whose inputs are
missing says why.

  --state-dir DIR  default $REEFGUARD_STATE_DIR
  --out FILE       default <state dir>/report.html
  --mlflow URL     MLflow tracking server for run ids and aliases (default
                   $REEFGUARD_MLFLOW_TRACKING_URI when it is http(s))`;

const settings = { ...commonSettings, MLFLOW_TRACKING_URI: z.string().optional() };

/** `./reefguard report`. Exit 0 when written, 2 on bad arguments. */
export async function run(args: string[]): Promise<number> {
  const { values } = parseArgs({
    args,
    options: {
      'state-dir': { type: 'string' },
      out: { type: 'string' },
      mlflow: { type: 'string' },
      help: { type: 'boolean', short: 'h' },
    },
  });
  if (values.help) {
    console.log(USAGE);
    return 0;
  }
  const config = loadConfig(settings, process.env);
  const root = workspaceRoot();
  const configured = isAbsolute(config.STATE_DIR) ? config.STATE_DIR : join(root, config.STATE_DIR);
  const stateDir = resolve(values['state-dir'] ?? configured);
  if (!existsSync(stateDir)) {
    console.error(
      `state dir ${stateDir} does not exist: run the demo first, or pass --state-dir\n\n${USAGE}`,
    );
    return 2;
  }
  const tracking = values.mlflow ?? config.MLFLOW_TRACKING_URI;
  const mlflowUrl = tracking && /^https?:\/\//.test(tracking) ? tracking : undefined;
  if (values.mlflow && !mlflowUrl) {
    console.error(`--mlflow must be an http(s) URL of a tracking server, got "${values.mlflow}"`);
    return 2;
  }
  const out = resolve(values.out ?? join(stateDir, 'report.html'));
  const data = await writeReport({ stateDir, root, out, ...(mlflowUrl ? { mlflowUrl } : {}) });
  for (const line of summarizeReport(data)) console.log(`  ${line}`);
  console.log(`report: ${out}`);
  return 0;
}
