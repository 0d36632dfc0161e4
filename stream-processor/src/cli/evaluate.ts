import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { loadConfig, ReefGuardError } from '@reefguard/core';
import { workspaceRoot } from '@reefguard/core/cli/workspace';
import { z } from 'zod';
import {
  DEFAULT_MODEL_ALIAS,
  DEMO_STATE_DIR,
  evaluateObservations,
  renderHtml,
  renderTable,
  resolveModelInStores,
} from '../evaluate/index.js';

const USAGE = `usage: ./reefguard evaluate --observations PATH [--model VERSION|ALIAS|DIR] [--json] [--html FILE]

Builds the features of the observations (a GBR aerial file with bleach_YYYY columns, or GCBD
survey rows; CSV, CSV.gz or Parquet; any year) from the product's own data exactly as
'features export' does, runs the exported ONNX model and reports it next to the CRW
baseline (Alert Level 1, DHW >= 4) on the same rows. Rows not scored are counted per reason
('excluded', with examples); progress and warnings go to stderr.

  --observations PATH  observation file; repeat for several
  --model REF          model version, alias or folder (default: the champion alias of
                       $REEFGUARD_STATE_DIR/models, else the one 'make demo' promoted)
  --json               print one JSON object instead of the table
  --html FILE          also write a skill table and reliability diagram as HTML
  --data-dir DIR       the product's GBR context tables (default data/sample)`;

const settings = {
  STATE_DIR: z.string().min(1).default('.reefguard'),
};

/** `./reefguard evaluate`. */
export async function run(args: string[]): Promise<number> {
  const { values } = parseArgs({
    args,
    options: {
      observations: { type: 'string', multiple: true, default: [] },
      model: { type: 'string' },
      json: { type: 'boolean', default: false },
      html: { type: 'string' },
      'data-dir': { type: 'string' },
    },
  });
  if (values.observations.length === 0) {
    console.error(USAGE);
    return 2;
  }
  const config = loadConfig(settings, process.env);
  try {
    // No --model: the champion of the state dir, else the demo's (make demo trains there).
    const stores = values.model
      ? [config.STATE_DIR]
      : [config.STATE_DIR, join(workspaceRoot(), DEMO_STATE_DIR)];
    const model = await resolveModelInStores(stores, values.model ?? DEFAULT_MODEL_ALIAS);
    if (model.stateDir !== config.STATE_DIR) {
      console.error(
        `evaluate: no ${DEFAULT_MODEL_ALIAS} in ${config.STATE_DIR}/models: using the demo's ${DEFAULT_MODEL_ALIAS}, version ${model.version} (${model.dir})`,
      );
    }
    const report = await evaluateObservations({
      observationPaths: values.observations,
      dataDir: values['data-dir'] ?? join(workspaceRoot(), 'data', 'sample'),
      model,
      // Progress and warnings go to stderr: with --json, stdout holds the one JSON object.
      onProgress: (line) => console.error(`evaluate: ${line}`),
    });
    if (values.html) await writeFile(values.html, renderHtml(report));
    if (values.json)
      for (const warning of report.warnings) console.error(`evaluate: warning: ${warning}`);
    console.log(values.json ? JSON.stringify(report) : renderTable(report));
    return 0;
  } catch (error) {
    if (error instanceof ReefGuardError) {
      console.error(`${error.name}: ${error.message}`);
      return 1;
    }
    throw error;
  }
}
