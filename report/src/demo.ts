import { copyFile, mkdir, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { readStack, stackEnv, stopStack, writeScrapeTargets } from '@reefguard/core';
import { COMMANDS } from '@reefguard/core/cli/commands';
import { type CounterSnapshot, writeCounterSnapshot } from './counters.js';
import { fleetState, MAX_AGENT_RESTARTS, startGateways } from './demo-fleet.js';
import { writeGatewayReadings } from './demo-gateways.js';
import { followLoop } from './demo-loop.js';
import { freePort, serveDirectory } from './demo-loopback.js';
import { createSupervisor, DemoStepError } from './demo-processes.js';
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
  /** An MLflow tracking server in the stack (`services start --with mlflow`) instead of the file store. */
  mlflow: boolean;
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
  mlflow: true,
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
    // In-process: the supervisor starts nothing once stopping began.
    if (stackUp) await stopStack(join(stateDir, 'services')).catch(() => undefined);
  };
  options.signal.addEventListener(
    'abort',
    () => {
      progress.step('interrupted: stopping the running step');
      // The step under way fails at once; cleanup then stops the rest.
      void supervisor.stopAll();
    },
    { once: true },
  );
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
    await supervisor.run(
      'services',
      ['services', 'start', ...(options.mlflow ? ['--with', 'mlflow'] : [])],
      {
        timeoutMs: 300_000,
        onProgress: progress.info,
      },
    );
    const stack = await readStack(join(stateDir, 'services'));
    if (!stack) throw new DemoStepError('services start returned but no stack state was written');
    const env = stackEnv(stack);
    for (const [key, value] of Object.entries(env)) progress.info(`${key}=${value}`);
    const stackFile = JSON.parse(
      await readFile(join(stateDir, 'services', 'services.json'), 'utf8'),
    ) as Record<string, unknown>;
    const mlflowUrl = typeof stackFile.mlflowUrl === 'string' ? stackFile.mlflowUrl : null;
    const monitoring = monitoringOf(stackFile);
    // The stack's Slack stand-in (Alertmanager posts there too) when it has one, else the demo's.
    const slack = monitoring.slackReceiverUrl
      ? null
      : await startSlackReceiver(join(stateDir, 'slack', 'messages.jsonl'));
    if (slack) closers.push(() => slack.close());
    const slackUrl = monitoring.slackReceiverUrl ?? (slack as { url: string }).url;
    const slackLog = monitoring.slackRecordFile ?? join(stateDir, 'slack', 'messages.jsonl');
    const slackCount = async () =>
      (await readFile(slackLog, 'utf8').catch(() => '')).split('\n').filter(Boolean).length;
    progress.info(`Slack webhook receiver: ${slackUrl} -> ${slackLog}`);
    if (monitoring.prometheusUrl)
      progress.info(
        `Prometheus ${monitoring.prometheusUrl}, Alertmanager ${monitoring.alertmanagerUrl ?? '-'}`,
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
      `online store: static and ${options.season} yearly features of every GBR site (reefguard:context:{site}), so serving answers with the model`,
    );
    // The season's gridded layers, from which the training set cut its ViT chips too.
    const chipLayersFile = join(stateDir, 'serving', 'chip-layers.json');
    await supervisor.run(
      'features-context',
      [
        'features',
        'context',
        '--year',
        String(options.season),
        '--chip-layers-out',
        chipLayersFile,
      ],
      { env: childEnv, onProgress: progress.info },
    );

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
    const servePort = await freePort();
    const apiUrl = `http://127.0.0.1:${servePort}`;
    const servingEnv = {
      ...childEnv,
      // Announcements carry download URLs: they must name the demo's serving, not the default.
      REEFGUARD_PORT: String(servePort),
      REEFGUARD_PUBLIC_URL: apiUrl,
      REEFGUARD_POLICY_FILE: policyFile,
      REEFGUARD_CHIP_LAYERS_FILE: chipLayersFile,
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
    await registerTargets(monitoring, 'serving', 'serving', [{ url: apiUrl }], progress);

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
    await registerTargets(
      monitoring,
      'stream-processor',
      'stream-processor-0',
      [{ url: `http://127.0.0.1:${processorPort}`, labels: { instance_name: '0' } }],
      progress,
    );

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
    const agents = await startGateways(
      supervisor,
      gateways,
      { playSeconds: options.playSeconds, intervalHours: READING_INTERVAL_HOURS },
      stateDir,
      out,
      childEnv,
    );
    for (const agent of agents) {
      await registerTargets(
        monitoring,
        'edge-agent',
        agent.gateway.agentId,
        [
          {
            url: agent.healthUrl,
            labels: { agent_id: agent.gateway.agentId, site_id: agent.gateway.pixel.siteId },
          },
        ],
        progress,
      );
    }
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
            `sent ${state.sent}/${total}, unsent ${state.queued}, processed ${state.processed}, drift checks ${drift}, Slack ${await slackCount()}`,
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
    const answered = (JSON.parse(riskMap) as { features: { properties: { variant?: string } }[] })
      .features;
    const byVariant = new Map<string, number>();
    for (const f of answered) {
      const variant = f.properties.variant ?? 'none';
      byVariant.set(variant, (byVariant.get(variant) ?? 0) + 1);
    }
    progress.info(
      `${answered.length} sites answered (${[...byVariant].map(([v, n]) => `${v} ${n}`).join(', ')})`,
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
    if (monitoring.prometheusUrl) {
      const alerts = await fetch(`${monitoring.prometheusUrl}/api/v1/alerts`).then(
        (r) => r.text(),
        () => null,
      );
      if (alerts) await writeFile(join(stateDir, 'prometheus-alerts.json'), alerts);
    }
    // The stack's data goes with `services stop`: keep its Slack record with the run.
    if (monitoring.slackRecordFile) {
      await mkdir(join(stateDir, 'slack'), { recursive: true });
      await copyFile(
        monitoring.slackRecordFile,
        join(stateDir, 'slack', 'stack-receiver.jsonl'),
      ).catch(() => undefined);
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
    const data = await writeReport({
      stateDir,
      root,
      out: reportPath,
      ...(mlflowUrl ? { mlflowUrl } : {}),
    });
    for (const line of summarizeReport(data)) progress.info(line);
    const countsMatch = data.counts.ok && data.counts.value.sentEqualsStored;

    progress.step(`done in ${((Date.now() - started) / 1000).toFixed(0)} s; where everything is:`);
    progress.info(`report        ${reportPath}`);
    progress.info(
      `API           ${apiUrl}/  (risk map page; ${options.keep ? 'up until Ctrl-C' : 'stopped with the demo, --keep leaves it up'})`,
    );
    progress.info(
      `MLflow        ${mlflowUrl ? `${mlflowUrl} (UI and registry)` : `sqlite store ${join(stateDir, 'mlflow', 'mlflow.db')} (mlflow ui --backend-store-uri sqlite:///${join(stateDir, 'mlflow', 'mlflow.db')})`}`,
    );
    progress.info(
      `Prometheus    ${monitoring.prometheusUrl ?? 'not in this build of the local stack'}${monitoring.alertmanagerUrl ? `, Alertmanager ${monitoring.alertmanagerUrl}` : ''}${options.keep ? '' : ' (stopped with the demo)'}`,
    );
    progress.info(`Slack log     ${join(stateDir, 'slack')} (${await slackCount()} messages)`);
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
    `${Array.from({ length: 99 }, (_, i) => `${MODEL} ${i + 1}`).join('\n')}\n`,
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

interface MonitoringUrls {
  prometheusUrl?: string;
  alertmanagerUrl?: string;
  scrapeTargetsDir?: string;
  slackReceiverUrl?: string;
  slackRecordFile?: string;
}

/** What of the monitoring stack `services start` ran (nothing in a build without it). */
function monitoringOf(stackFile: Record<string, unknown>): MonitoringUrls {
  const pick = (key: keyof MonitoringUrls) =>
    typeof stackFile[key] === 'string' ? { [key]: stackFile[key] as string } : {};
  return {
    ...pick('prometheusUrl'),
    ...pick('alertmanagerUrl'),
    ...pick('scrapeTargetsDir'),
    ...pick('slackReceiverUrl'),
    ...pick('slackRecordFile'),
  };
}

/** Tells the stack's Prometheus about one process (file_sd), when the stack has Prometheus. */
async function registerTargets(
  monitoring: MonitoringUrls,
  job: 'serving' | 'stream-processor' | 'edge-agent',
  name: string,
  targets: { url: string; labels?: Record<string, string> }[],
  progress: Progress,
) {
  if (!monitoring.scrapeTargetsDir) return;
  await writeScrapeTargets(monitoring.scrapeTargetsDir, job, name, targets);
  progress.info(`Prometheus scrapes ${job} ${name}`);
}
