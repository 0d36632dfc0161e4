import { readdir } from 'node:fs/promises';
import { isAbsolute, join, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { commonSettings, loadConfig } from '@reefguard/core';
import { workspaceRoot } from '@reefguard/core/cli/workspace';
import { DEFAULT_DEMO_OPTIONS, DEMO_MARKER, runDemo } from '../demo.js';

const DEFAULT_DEMO_DIR = '.reefguard/demo';

const USAGE = `usage: ./reefguard demo [--state-dir DIR] [--season YEAR] [--gateways N] [--sites-per-gateway N] [--quick]
                      [--play-seconds S] [--canary-window S] [--loop-timeout S] [--keep] [--no-mlflow]

The main job on one machine, with progress at every step: its own private stack under
--state-dir (default .reefguard/demo; wiped at the start, so only an empty folder or an
earlier demo's is accepted), the first model trained
from the shipped data, serving, the stream processor and retrain worker, N edge agents
replaying a heat-wave season onto MQTT and JetStream, drift -> retrain -> canary ->
promote or roll back, Slack messages in a local receiver, then the report. Every process it
starts is stopped at the end, on failure and on Ctrl-C. Exit 0 when every step succeeded:
readings sent == stored, the loop reached a decision, the drift alert reached Slack.

  --state-dir DIR     the demo's own state: stack, stores, logs, report (default .reefguard/demo)
  --season YEAR       heat-wave season replayed (default ${DEFAULT_DEMO_OPTIONS.season})
  --gateways N        edge agents, one per reef latitude band, 1-4 (default ${DEFAULT_DEMO_OPTIONS.gateways})
  --sites-per-gateway N  buoys each gateway carries, 1-12 (default ${DEFAULT_DEMO_OPTIONS.sitesPerGateway}): the live sites,
                      one per gateway in serving's canary cohort, the rest in the champion's
  --quick             trainer --quick for the first model and the retrain (tiny models)
  --play-seconds S    how long the season takes at the gateways (default ${DEFAULT_DEMO_OPTIONS.playSeconds})
  --canary-window S   serving's canary window (default ${DEFAULT_DEMO_OPTIONS.canaryWindowS})
  --loop-timeout S    how long to wait for the loop after the season (default ${DEFAULT_DEMO_OPTIONS.loopTimeoutS})
  --keep              leave the stack and serving up after the report, until Ctrl-C
  --no-mlflow         no MLflow server in the stack (services start --with mlflow, about
                      half a minute): the trainer's file store under the state dir instead`;

export async function run(args: string[]): Promise<number> {
  const { values } = parseArgs({
    args,
    options: {
      'state-dir': { type: 'string', default: DEFAULT_DEMO_DIR },
      season: { type: 'string', default: String(DEFAULT_DEMO_OPTIONS.season) },
      gateways: { type: 'string', default: String(DEFAULT_DEMO_OPTIONS.gateways) },
      'sites-per-gateway': {
        type: 'string',
        default: String(DEFAULT_DEMO_OPTIONS.sitesPerGateway),
      },
      quick: { type: 'boolean', default: false },
      'play-seconds': { type: 'string', default: String(DEFAULT_DEMO_OPTIONS.playSeconds) },
      'canary-window': { type: 'string', default: String(DEFAULT_DEMO_OPTIONS.canaryWindowS) },
      'loop-timeout': { type: 'string', default: String(DEFAULT_DEMO_OPTIONS.loopTimeoutS) },
      keep: { type: 'boolean', default: false },
      'no-mlflow': { type: 'boolean', default: false },
      help: { type: 'boolean', short: 'h' },
    },
  });
  if (values.help) {
    console.log(USAGE);
    return 0;
  }
  const numbers = {
    season: Number(values.season),
    gateways: Number(values.gateways),
    sitesPerGateway: Number(values['sites-per-gateway']),
    playSeconds: Number(values['play-seconds']),
    canaryWindowS: Number(values['canary-window']),
    loopTimeoutS: Number(values['loop-timeout']),
  };
  const bad = [
    !Number.isInteger(numbers.season) || numbers.season < 1986 || numbers.season > 2017
      ? `--season must be a year 1986-2017 (the shipped annual maximum DHW), got "${values.season}"`
      : null,
    !Number.isInteger(numbers.gateways) || numbers.gateways < 1 || numbers.gateways > 4
      ? `--gateways must be 1-4, got "${values.gateways}"`
      : null,
    !Number.isInteger(numbers.sitesPerGateway) ||
    numbers.sitesPerGateway < 1 ||
    numbers.sitesPerGateway > 12
      ? `--sites-per-gateway must be 1-12, got "${values['sites-per-gateway']}"`
      : null,
    ...(['playSeconds', 'canaryWindowS', 'loopTimeoutS'] as const).map((k) =>
      Number.isFinite(numbers[k]) && numbers[k] > 0
        ? null
        : `${k} must be a positive number of seconds`,
    ),
  ].filter((e): e is string => e !== null);
  if (bad.length > 0) {
    console.error(`${bad.join('\n')}\n\n${USAGE}`);
    return 2;
  }
  loadConfig(commonSettings, process.env);
  const root = workspaceRoot();
  const dir = values['state-dir'];
  const stateDir = resolve(isAbsolute(dir) ? dir : join(root, dir));
  const refusal = await refuseForeignDir(stateDir);
  if (refusal) {
    console.error(refusal);
    return 2;
  }
  const controller = new AbortController();
  const stop = () => controller.abort();
  process.once('SIGINT', stop);
  process.once('SIGTERM', stop);
  try {
    const result = await runDemo({
      root,
      stateDir,
      ...numbers,
      quick: values.quick,
      keep: values.keep,
      mlflow: !values['no-mlflow'],
      signal: controller.signal,
    });
    return result.problems.length === 0 ? 0 : 1;
  } catch (error) {
    console.error(`\n[demo] failed: ${(error as Error).message}`);
    return controller.signal.aborted ? 130 : 1;
  } finally {
    process.off('SIGINT', stop);
    process.off('SIGTERM', stop);
  }
}

/** The demo wipes its state dir: only an empty one, or one an earlier demo marked, is taken. */
async function refuseForeignDir(stateDir: string): Promise<string | null> {
  const names: string[] = await readdir(stateDir).catch(() => []);
  if (names.length === 0 || names.includes(DEMO_MARKER)) return null;
  return `${stateDir} holds files no demo wrote (no ${DEMO_MARKER}); the demo wipes its state dir, so give it an empty or new --state-dir`;
}
