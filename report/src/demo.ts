import { createReadStream } from 'node:fs';
import { mkdir, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { basename, join } from 'node:path';
import { readStack, stackEnv } from '@reefguard/core';
import { COMMANDS } from '@reefguard/core/cli/commands';
import { loadReplayPixels } from '@reefguard/stream-processor';
import { type CounterSnapshot, sumSamples, writeCounterSnapshot } from './counters.js';
import { type Gateway, writeGatewayReadings } from './demo-gateways.js';
import { createSupervisor, DemoStepError, type Supervisor } from './demo-processes.js';
import { createProgress, type Progress, scrape, waitFor } from './demo-progress.js';
import { startSlackReceiver } from './demo-slack.js';
import { type EventRecorder, readEvents, startEventRecorder } from './event-log.js';
import { summarizeReport } from './render-html.js';
import { writeReport } from './write-report.js';

export interface DemoOptions {
  root: string;
  stateDir: string;
  /** Heat-wave season replayed (a year of the shipped annual maximum DHW, 1986-2017). */
  season: number;
  gateways: number;
  /** Trainer `--quick` for the first model and the retrain (tiny models, minutes saved). */
  quick: boolean;
  /** Seconds the season takes to play at the gateways. */
  playSeconds: number;
  canaryWindowS: number;
  /** Give up waiting for the drift -> retrain -> canary loop after this long. */
  loopTimeoutS: number;
  /** Keep the stack and serving up after the report until Ctrl-C. */
  keep: boolean;
  signal: AbortSignal;
}

export const DEFAULT_DEMO_OPTIONS = {
  season: 2016,
  gateways: 4,
  quick: false,
  playSeconds: 120,
  canaryWindowS: 30,
  loopTimeoutS: 300,
  keep: false,
} as const;

const MODEL = 'reefguard-bleaching-risk';
/** Marks a state dir as the demo's own, so a later run may wipe it. */
export const DEMO_MARKER = '.reefguard-demo';
const READING_INTERVAL_HOURS = 3;

/**
 * The main job, start to end: stack, first model, serving, stream processor, retrain worker,
 * gateways replaying a heat-wave season, the drift -> retrain -> canary loop, counts checked,
 * report written. Every process it starts is stopped on the way out, also on failure or
 * Ctrl-C (`signal`). Returns the report's path and whether sent == stored.
 */
export async function runDemo(
  options: DemoOptions,
): Promise<{ report: string; countsMatch: boolean }> {
  const started = Date.now();
  const progress = createProgress(started);
  const { stateDir, root } = options;
  const out = join(stateDir, 'out');
  const supervisor = createSupervisor({
    root,
    logDir: join(out, 'logs'),
    env: { ...process.env, REEFGUARD_STATE_DIR: stateDir, REEFGUARD_LOG_LEVEL: 'info' },
  });
  const closers: (() => Promise<void>)[] = [];
  let stackUp = false;
  const cleanup = async () => {
    progress.step('stopping every process the demo started');
    await supervisor.stopAll();
    for (const close of closers.reverse()) await close().catch(() => undefined);
    if (stackUp) await supervisor.run('services-stop', ['services', 'stop']).catch(() => undefined);
  };
  options.signal.addEventListener('abort', () => progress.step('interrupted: cleaning up'), {
    once: true,
  });
  try {
    progress.step(`fresh state dir ${stateDir} (a previous demo's stack is stopped first)`);
    await supervisor.run('services-stop-previous', ['services', 'stop']).catch(() => undefined);
    await rm(stateDir, { recursive: true, force: true });
    await mkdir(join(out, 'logs'), { recursive: true });
    await writeFile(
      join(stateDir, DEMO_MARKER),
      'written by ./reefguard demo; wiped by the next run\n',
    );

    progress.step(
      'local stack: private Mosquitto, NATS JetStream, Redis (and whatever else `services start` runs)',
    );
    stackUp = true;
    await supervisor.run('services', ['services', 'start'], { timeoutMs: 120_000 });
    const stack = await readStack(join(stateDir, 'services'));
    if (!stack) throw new DemoStepError('services start returned but no stack state was written');
    const env = stackEnv(stack);
    for (const [key, value] of Object.entries(env)) progress.info(`${key}=${value}`);
    const stackFile = JSON.parse(
      await readFile(join(stateDir, 'services', 'services.json'), 'utf8'),
    ) as Record<string, unknown>;
    const slack = env.REEFGUARD_SLACK_WEBHOOK_URL
      ? null
      : await startSlackReceiver(join(stateDir, 'slack', 'messages.jsonl'));
    if (slack) closers.push(() => slack.close());
    const slackUrl = env.REEFGUARD_SLACK_WEBHOOK_URL ?? (slack as { url: string }).url;
    progress.info(
      `Slack webhook receiver: ${slackUrl} -> ${join(stateDir, 'slack', 'messages.jsonl')}`,
    );
    const recorder: EventRecorder = await startEventRecorder({ natsUrl: stack.natsUrl, stateDir });
    closers.push(() => recorder.close());
    const childEnv = { ...env, REEFGUARD_SLACK_WEBHOOK_URL: slackUrl };

    progress.step(
      `season ${options.season}: MODIS L3m files (replay, in the background) and ${options.gateways} gateways' buoy readings`,
    );
    const replayDir = join(stateDir, 'replay', String(options.season));
    supervisor.start(
      'replay',
      ['replay', '--season', String(options.season), '--buoys', '0', '--out', replayDir],
      childEnv,
    );
    const gateways = await writeGatewayReadings({
      root,
      year: options.season,
      outDir: join(out, 'gateways'),
      gateways: options.gateways,
      intervalHours: READING_INTERVAL_HOURS,
    });
    for (const g of gateways) {
      progress.info(
        `${g.agentId}: ${g.pixel.siteId} (${g.pixel.lat.toFixed(2)}, ${g.pixel.lon.toFixed(2)}), ${g.readings} readings every ${READING_INTERVAL_HOURS} h, shipped max DHW ${g.pixel.targetDhw.toFixed(1)}, peak SST ${g.peakSstC.toFixed(2)} degC`,
      );
    }

    progress.step(
      'training set: shipped observations joined point-in-time with features and ViT chips',
    );
    const trainingSet = join(stateDir, 'training-set');
    await supervisor.run(
      'features-export',
      ['features', 'export', '--sample-data', '--out', trainingSet],
      { env: childEnv, onProgress: progress.info },
    );
    progress.info(`-> ${trainingSet}`);

    progress.step(
      `first model: XGBoost + ViT ensemble${options.quick ? ' (--quick: tiny models to fit the time budget)' : ''}, ONNX + card, MLflow`,
    );
    await supervisor.run(
      'train',
      ['train', '--training-set', trainingSet, ...(options.quick ? ['--quick'] : [])],
      { env: childEnv, onProgress: progress.info },
    );
    const aliases = JSON.parse(
      await readFile(join(stateDir, 'models', MODEL, 'aliases.json'), 'utf8'),
    ) as Record<string, string>;
    const champion = aliases.champion;
    if (!champion) throw new DemoStepError(`train finished but ${MODEL} has no champion alias`);
    const championCard = join(stateDir, 'models', MODEL, champion, 'model-card.json');
    progress.info(
      `registered ${MODEL} v${champion}; the local store made it champion (first model)`,
    );

    progress.step(
      'promotion policy: the demo approves its own versions (a reviewed pull request does in production)',
    );
    const policyFile = await writeDemoPolicy(root, out, progress);
    const servingEnv = {
      ...childEnv,
      REEFGUARD_POLICY_FILE: policyFile,
      REEFGUARD_CANARY_WINDOW_S: String(options.canaryWindowS),
      // The replayed season is years old: its features count as current for the demo.
      REEFGUARD_FEATURE_MAX_AGE_H: String(24 * 365 * 20),
    };
    await supervisor
      .run('promote-challenger', ['promote', '--to', 'challenger', '--version', champion], {
        env: servingEnv,
      })
      .then(() =>
        supervisor.run('promote-champion', ['promote', '--to', 'champion', '--version', champion], {
          env: servingEnv,
        }),
      )
      .then(
        () => progress.info(`v${champion} promoted through the gates; announced to the edge`),
        async (error: unknown) =>
          progress.info(
            `v${champion} stays champion by the store's first-model rule; promotion said: ${(error as Error).message.split('\n').slice(-3).join(' | ')}`,
          ),
      );

    const hasRollout = COMMANDS.some((c) => c.name === 'rollout');
    const servePort = await freePort();
    const apiUrl = `http://127.0.0.1:${servePort}`;
    progress.step(
      `serving on ${apiUrl}${hasRollout ? ' with the rollout consumer (./reefguard rollout)' : ' (./reefguard serve; no rollout consumer in this build)'}`,
    );
    supervisor.start(
      'serving',
      [hasRollout ? 'rollout' : 'serve', '--port', String(servePort)],
      servingEnv,
    );
    await waitFor(
      'serving /readyz',
      async () => (await fetch(`${apiUrl}/readyz`).catch(() => null))?.ok,
      {
        timeoutMs: 120_000,
        signal: options.signal,
        onTick: () => {
          if (!supervisor.alive('serving'))
            throw new DemoStepError(`serving exited; see ${supervisor.logPath('serving')}`);
        },
      },
    );
    progress.info('ready');

    progress.step('stream processor (drift against the champion card), retrain worker');
    const processorPort = await freePort();
    supervisor.start(
      'stream-processor',
      [
        '@reefguard/report/cli/demo-stream-processor',
        '--card',
        championCard,
        '--metrics-port',
        String(processorPort),
      ],
      childEnv,
    );
    supervisor.start(
      'retrain-worker',
      ['retrain-worker', '--training-set', trainingSet, ...(options.quick ? ['--quick'] : [])],
      childEnv,
    );
    const processorMetrics = `http://127.0.0.1:${processorPort}/metrics`;
    await waitFor('stream processor metrics', async () => scrape(processorMetrics), {
      timeoutMs: 60_000,
      signal: options.signal,
    });

    await waitFor('replay files', async () => !supervisor.alive('replay'), {
      timeoutMs: 300_000,
      signal: options.signal,
    });
    const files = (await readdir(replayDir).catch(() => []))
      .filter((f) => f.endsWith('.nc'))
      .sort();
    progress.step(
      `satellite: ${files.length} MODIS L3m files ingested over HTTP (in the background)`,
    );
    const fileServer = await serveDirectory(replayDir);
    closers.push(() => new Promise((resolve) => fileServer.server.close(() => resolve())));
    const [firstFile, lastFile] = [files[0], files.at(-1)];
    if (firstFile && lastFile) {
      const day = (name: string) => {
        const ymd = name.split('.')[1] as string;
        return `${ymd.slice(0, 4)}-${ymd.slice(4, 6)}-${ymd.slice(6, 8)}`;
      };
      supervisor.start(
        'ingest',
        [
          'ingest',
          'modis',
          '--start',
          day(firstFile),
          '--end',
          day(lastFile),
          '--base-url',
          fileServer.url,
        ],
        childEnv,
      );
    }

    progress.step(
      `${gateways.length} edge agents replay the season in about ${options.playSeconds} s onto MQTT and JetStream`,
    );
    const agents = await startGateways(supervisor, gateways, options, stateDir, out, childEnv);
    const total = gateways.reduce((sum, g) => sum + g.readings, 0);
    let lastLine = 0;
    await waitFor(
      'every reading sent and processed',
      async () => {
        const state = await fleetState(agents, processorMetrics);
        if (Date.now() - lastLine > 10_000) {
          lastLine = Date.now();
          const drift = (await readEvents(stateDir, 'drift')).length;
          progress.info(
            `sent ${state.sent}/${total}, unsent ${state.queued}, processed ${state.processed}, drift checks ${drift}, Slack ${slack?.received() ?? '?'}`,
          );
        }
        return state.sent === total && state.queued === 0 && state.processed >= total
          ? state
          : null;
      },
      {
        timeoutMs: (options.playSeconds + 240) * 1000,
        everyMs: 2_000,
        signal: options.signal,
        onTick: () => {
          for (const agent of agents) {
            if (supervisor.alive(agent.gateway.agentId)) continue;
            // A gateway daemon that dies is restarted, as systemd would: its outbox and cursor
            // are on disk, so it resumes where it stopped and nothing is sent twice in effect.
            if (agent.restarts >= MAX_AGENT_RESTARTS) {
              throw new DemoStepError(
                `${agent.gateway.agentId} exited ${agent.restarts + 1} times; see ${supervisor.logPath(agent.gateway.agentId)}`,
              );
            }
            agent.restarts += 1;
            progress.info(
              `${agent.gateway.agentId} exited; restarting it (${agent.restarts}/${MAX_AGENT_RESTARTS})`,
            );
            void supervisor.stop(agent.gateway.agentId).then(() => agent.start());
          }
          for (const name of ['stream-processor', 'serving']) {
            if (!supervisor.alive(name))
              throw new DemoStepError(`${name} exited early; see ${supervisor.logPath(name)}`);
          }
        },
      },
    );
    progress.info(`all ${total} readings acknowledged by the brokers and processed`);

    progress.step(
      'the loop: drift -> retrain request -> retrain -> challenger -> canary -> promote or roll back',
    );
    const loop = await followLoop(stateDir, apiUrl, gateways, options, progress);

    progress.step('risk map from serving, counters from every process');
    const riskMap = await fetch(`${apiUrl}/v1/risk-map?with_data=true`).then((r) => r.text());
    await writeFile(join(stateDir, 'risk-map.geojson'), riskMap);
    progress.info(
      `${(JSON.parse(riskMap) as { features: unknown[] }).features.length} sites answered`,
    );
    for (const agent of agents) {
      const samples = await scrape(`${agent.healthUrl}/metrics`);
      if (samples) {
        await writeCounterSnapshot(stateDir, {
          component: 'edge-agent',
          id: agent.gateway.agentId,
          site_id: agent.gateway.pixel.siteId,
          station_id: agent.gateway.stationId,
          scraped_at: new Date().toISOString(),
          samples,
        });
      }
    }
    const processorSamples = await scrape(processorMetrics);
    if (processorSamples) {
      const snapshot: CounterSnapshot = {
        component: 'stream-processor',
        id: '0',
        scraped_at: new Date().toISOString(),
        samples: processorSamples,
      };
      await writeCounterSnapshot(stateDir, snapshot);
    }

    // The report reads DuckDB, which allows one process per file: stop the writers first.
    await supervisor.stop('ingest');
    for (const agent of agents) await supervisor.stop(agent.gateway.agentId);
    await supervisor.stop('stream-processor');
    await supervisor.stop('retrain-worker');
    if (!options.keep) await supervisor.stop('serving');
    await recorder.close();

    progress.step('report');
    const reportPath = join(stateDir, 'report.html');
    const data = await writeReport({ stateDir, root, out: reportPath });
    for (const line of summarizeReport(data)) progress.info(line);
    const countsMatch = data.counts.ok && data.counts.value.sentEqualsStored;

    progress.step(`done in ${((Date.now() - started) / 1000).toFixed(0)} s; where everything is:`);
    progress.info(`report        ${reportPath}`);
    progress.info(
      `API           ${apiUrl}/  (risk map page; ${options.keep ? 'up until Ctrl-C' : 'stopped with the demo, --keep leaves it up'})`,
    );
    progress.info(
      `MLflow        ${typeof stackFile.mlflowUrl === 'string' ? stackFile.mlflowUrl : `sqlite store ${join(stateDir, 'mlflow', 'mlflow.db')} (mlflow ui --backend-store-uri sqlite:///${join(stateDir, 'mlflow', 'mlflow.db')})`}`,
    );
    progress.info(
      `Prometheus    ${typeof stackFile.prometheusUrl === 'string' ? stackFile.prometheusUrl : 'not in this build of the local stack'}`,
    );
    progress.info(`Slack log     ${join(stateDir, 'slack', 'messages.jsonl')}`);
    progress.info(`logs          ${join(out, 'logs')}`);
    progress.info(`loop          ${loop}`);
    if (options.keep) {
      progress.info('Ctrl-C stops everything');
      await new Promise<void>((resolve) =>
        options.signal.addEventListener('abort', () => resolve(), { once: true }),
      );
    }
    return { report: reportPath, countsMatch };
  } finally {
    await cleanup();
  }
}

/**
 * The gates the demo relaxes, and why: a model trained on the shipped sample data reaches an
 * F1 of about 0.3 on held-out events and does not beat the CRW alert on every one, so
 * production's floor would keep every demo model out and nothing would reach the edge.
 */
const DEMO_GATES = { f1_floor: 0.2, beats_crw_baseline: false } as const;

async function writeDemoPolicy(root: string, out: string, progress: Progress): Promise<string> {
  const policy = JSON.parse(await readFile(join(root, 'models/promotion-policy.json'), 'utf8')) as {
    gates?: Record<string, unknown>;
    champion?: { approved_list?: string };
  };
  const production = { ...policy.gates };
  policy.gates = { ...policy.gates, ...DEMO_GATES };
  const approved = join(out, 'approved_models.txt');
  // Every version the demo trains is approved: versions 1..99 of the demo's own model.
  await writeFile(
    approved,
    Array.from({ length: 99 }, (_, i) => `${MODEL} ${i + 1}`).join('\n') + '\n',
  );
  policy.champion = { ...policy.champion, approved_list: approved };
  const path = join(out, 'promotion-policy.json');
  await writeFile(path, `${JSON.stringify(policy, null, 2)}\n`);
  progress.info(`${path}: approved list ${approved} (every demo version)`);
  for (const [gate, value] of Object.entries(DEMO_GATES)) {
    progress.info(
      `demo gate ${gate}: ${value} (production: ${String(production[gate])}); the sample-data model cannot meet production's`,
    );
  }
  progress.info(`every other gate and the canary rules as in models/promotion-policy.json`);
  return path;
}

const MAX_AGENT_RESTARTS = 2;

interface RunningAgent {
  gateway: Gateway;
  healthUrl: string;
  restarts: number;
  start(): void;
}

async function startGateways(
  supervisor: Supervisor,
  gateways: Gateway[],
  options: DemoOptions,
  stateDir: string,
  out: string,
  env: Record<string, string>,
): Promise<RunningAgent[]> {
  const seasonMs = (gateways[0]?.readings ?? 0) * READING_INTERVAL_HOURS * 3_600_000;
  const speed = Math.max(1, Math.round(seasonMs / (options.playSeconds * 1000)));
  const agents: RunningAgent[] = [];
  for (const gateway of gateways) {
    const port = await freePort();
    const config = {
      AGENT_ID: gateway.agentId,
      SITE_ID: gateway.pixel.siteId,
      STATION_ID: gateway.stationId,
      SOURCE: 'replay',
      REPLAY_FILE: gateway.readingsFile,
      REPLAY_SPEED: speed,
      MMM_C: Math.round((gateway.pixel.minC + gateway.pixel.rangeC) * 100) / 100,
      STATE_DIR: join(stateDir, 'edge', gateway.agentId),
      HEALTH_PORT: port,
      LOG_LEVEL: 'info',
    };
    const file = join(out, `${gateway.agentId}.json`);
    await writeFile(file, `${JSON.stringify(config, null, 2)}\n`);
    // REEFGUARD_* override the config file: the agent's own state dir goes in the environment.
    const start = () => {
      supervisor.start(gateway.agentId, ['edge-agent', '--config', file], {
        ...env,
        REEFGUARD_STATE_DIR: config.STATE_DIR,
      });
    };
    start();
    agents.push({ gateway, healthUrl: `http://127.0.0.1:${port}`, restarts: 0, start });
  }
  return agents;
}

async function fleetState(agents: RunningAgent[], processorMetrics: string) {
  let sent = 0;
  let queued = 0;
  for (const agent of agents) {
    const samples = await scrape(`${agent.healthUrl}/metrics`);
    if (!samples) return { sent: 0, queued: Number.POSITIVE_INFINITY, processed: 0 };
    sent += sumSamples(samples, 'reefguard_edge_readings_enqueued_total');
    queued += sumSamples(samples, 'reefguard_edge_queue_depth');
  }
  const processor = (await scrape(processorMetrics)) ?? [];
  return { sent, queued, processed: sumSamples(processor, 'reefguard_stream_readings_total') };
}

const FINAL_STAGES = new Set([
  'promoted',
  'rolled-back',
  'rejected',
  'held',
  'canary-promote',
  'canary-rollback',
]);

/**
 * Follows the loop through the recorded events until a retrain's rollout ends (promoted,
 * rolled back, rejected or held) or the loop budget runs out; sends prediction traffic while
 * a canary is open, since the canary judges real requests.
 */
async function followLoop(
  stateDir: string,
  apiUrl: string,
  gateways: Gateway[],
  options: DemoOptions,
  progress: Progress,
): Promise<string> {
  const seen = new Set<string>();
  const say = (key: string, text: string) => {
    if (seen.has(key)) return;
    seen.add(key);
    progress.info(text);
  };
  const sites = await sampleSites(options.root, options.season, gateways);
  let outcome: string | null = null;
  const deadline = Date.now() + options.loopTimeoutS * 1000;
  while (Date.now() < deadline && !options.signal.aborted) {
    const drift = (await readEvents(stateDir, 'drift')).map(
      (e) => e.data as Record<string, unknown>,
    );
    const firstDrifted = drift.find((d) => d.drifted === true);
    if (firstDrifted)
      say(
        'drift',
        `drift: ${String(firstDrifted.feature)} PSI ${Number(firstDrifted.psi).toFixed(2)} > ${String(firstDrifted.threshold)}`,
      );
    for (const e of await readEvents(stateDir, 'retrain')) {
      const d = e.data as Record<string, unknown>;
      if (e.subject.endsWith('.requests'))
        say(
          `req-${d.id}`,
          `retrain requested (${String(d.reason)}: ${String(d.features)}), trace ${String(d.trace_id)}`,
        );
      if (e.subject.endsWith('.results'))
        say(
          `res-${d.request_id}`,
          `retrain ${String(d.status)}: model v${String(d.model_version)}${d.reason ? ` (${String(d.reason)})` : ''}`,
        );
    }
    let canaryOpen = false;
    for (const e of await readEvents(stateDir, 'models')) {
      const d = e.data as Record<string, unknown>;
      if (e.subject.endsWith('.decisions')) {
        say(
          `dec-${d.id}`,
          `rollout ${String(d.stage)}: v${String(d.version)} (${String(d.reason)})`,
        );
        if (d.stage === 'canary-open') canaryOpen = true;
        if (FINAL_STAGES.has(String(d.stage)) && d.retrain_request_id)
          outcome = `${String(d.stage)} v${String(d.version)}: ${String(d.reason)}`;
        if (d.stage === 'rejected' && !d.retrain_request_id) outcome ??= null;
      } else {
        say(
          `ann-${d.version}-${d.alias}-${d.decision}`,
          `announced v${String(d.version)} as ${String(d.alias)} (${String(d.decision)}) to the edge`,
        );
      }
    }
    if (outcome) return outcome;
    if (canaryOpen) await sendTraffic(apiUrl, sites, 2_000);
    else await new Promise((resolve) => setTimeout(resolve, 2_000));
  }
  const drifted = seen.has('drift');
  return drifted
    ? `the loop did not finish within ${options.loopTimeoutS} s; the report shows how far it got`
    : `no drift above the threshold within ${options.loopTimeoutS} s`;
}

/** The gateways' sites and about 200 more along the reef: the canary splits by site. */
async function sampleSites(root: string, year: number, gateways: Gateway[]): Promise<string[]> {
  const all = await loadReplayPixels(join(root, 'data/sample'), year);
  const step = Math.max(1, Math.floor(all.length / 200));
  return [
    ...gateways.map((g) => g.pixel.siteId),
    ...all.filter((_, i) => i % step === 0).map((p) => p.siteId),
  ];
}

/** Prediction requests for `durationMs`, a few at a time, spread over the sites. */
async function sendTraffic(apiUrl: string, sites: string[], durationMs: number) {
  const end = Date.now() + durationMs;
  let i = 0;
  while (Date.now() < end) {
    await Promise.all(
      Array.from({ length: 8 }, () =>
        fetch(`${apiUrl}/v1/predict`, {
          method: 'POST',
          headers: { 'content-type': 'application/json' },
          body: JSON.stringify({ site_id: sites[i++ % sites.length] }),
        }).then(
          (r) => r.arrayBuffer(),
          () => undefined,
        ),
      ),
    );
  }
}

async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  await new Promise((resolve) => server.close(resolve));
  return port;
}

/** Serves the files of one folder over loopback HTTP, as a satellite archive would. */
async function serveDirectory(dir: string): Promise<{ url: string; server: Server }> {
  const server = createServer((request, response) => {
    const name = basename(decodeURIComponent(new URL(request.url ?? '/', 'http://x').pathname));
    const stream = createReadStream(join(dir, name));
    stream.once('error', () => response.writeHead(404).end());
    stream.once('open', () => {
      response.writeHead(200, { 'content-type': 'application/x-netcdf' });
      stream.pipe(response);
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return { url: `http://127.0.0.1:${port}/`, server };
}
