import { existsSync } from 'node:fs';
import { mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { workspaceRoot } from '../cli/workspace.js';
import { ConfigError, TransportError } from '../errors.js';
import { type AlertmanagerOptions, startAlertmanager } from './alertmanager.js';
import { findExecutable, freePort, type LocalServer, startServer } from './process.js';
import { startPrometheus } from './prometheus.js';

/** What the monitoring part of the local stack leaves for other processes to find. */
export interface MonitoringState {
  prometheusUrl: string;
  alertmanagerUrl: string;
  /**
   * The local Slack receiver Alertmanager posts to; absent when a real Slack URL was given
   * (a secret: it stays in Alertmanager's 0600 file and is never written to the state).
   */
  slackReceiverUrl?: string;
  /** The local receiver's JSON-lines record of every message; absent with a real Slack. */
  slackRecordFile?: string;
  /** file_sd folder: write `<job>/<name>.json` here (writeScrapeTargets) to be scraped. */
  scrapeTargetsDir: string;
  pids: Record<string, number>;
}

export interface MonitoringStackOptions {
  /** The folder holding alertmanager.yml, rules/ and templates/; default infra/monitoring. */
  configDir?: string;
  /** A real Slack incoming-webhook URL; default: a local receiver that records messages. */
  slackWebhookUrl?: string;
  scrapeIntervalS?: number;
  /** Shorter Alertmanager route timers (tests, the demo). */
  alertTimers?: AlertmanagerOptions['timers'];
}

/** Why monitoring cannot start on this machine (a missing server), or null when it can. */
export function monitoringUnavailable(): string | null {
  try {
    findExecutable('prometheus', 'prometheus');
    try {
      findExecutable('alertmanager', 'prometheus-alertmanager');
    } catch {
      findExecutable('prometheus-alertmanager', 'prometheus-alertmanager');
    }
    return null;
  } catch (error) {
    return (error as Error).message;
  }
}

/** The Slack stand-in as a process of its own, so it outlives `reefguard services start`. */
async function startDetachedReceiver(dataDir: string, recordFile: string): Promise<LocalServer> {
  // Next to this module when it runs built; from the sources (tests), the built copy.
  const main = [
    fileURLToPath(new URL('./slack-receiver-main.js', import.meta.url)),
    join(workspaceRoot(), 'core', 'dist', 'local-stack', 'slack-receiver-main.js'),
  ].find((path) => existsSync(path));
  if (!main) {
    throw new ConfigError(
      'slack-receiver-main.js is not built: run node_modules/.bin/tsc -b (./reefguard builds it)',
    );
  }
  const port = await freePort();
  return startServer({
    name: 'slack-receiver',
    executable: process.execPath,
    args: [main, '--port', String(port), '--record', recordFile],
    port,
    dataDir,
    url: `http://127.0.0.1:${port}/services/local/reefguard/webhook`,
    detached: true,
  });
}

/**
 * Prometheus (the shipped rules, file_sd targets), Alertmanager (the shipped routing) and,
 * unless a real Slack URL is given, a local Slack receiver, all detached under `dir`.
 */
export async function startMonitoringStack(
  dir: string,
  options: MonitoringStackOptions = {},
): Promise<MonitoringState> {
  const missing = monitoringUnavailable();
  if (missing) throw new TransportError(missing);
  const configDir = options.configDir ?? join(workspaceRoot(), 'infra', 'monitoring');
  const configFile = join(configDir, 'alertmanager.yml');
  if (!existsSync(configFile)) {
    throw new ConfigError(
      `${configFile} is missing: monitoring needs the repository's infra/monitoring`,
    );
  }
  await mkdir(join(dir, 'slack'), { recursive: true });
  const recordFile = join(dir, 'slack', 'messages.jsonl');
  const receiver = options.slackWebhookUrl
    ? null
    : await startDetachedReceiver(join(dir, 'slack'), recordFile);
  const slackWebhookUrl = options.slackWebhookUrl ?? (receiver as LocalServer).url;
  const alertmanager = await startAlertmanager({
    dataDir: join(dir, 'alertmanager'),
    configFile,
    slackWebhookUrl,
    detached: true,
    ...(options.alertTimers ? { timers: options.alertTimers } : {}),
  });
  const prometheus = await startPrometheus({
    dataDir: join(dir, 'prometheus'),
    ruleFiles: [join(configDir, 'rules', '*.yml')],
    alertmanagerUrl: alertmanager.url,
    detached: true,
    ...(options.scrapeIntervalS ? { scrapeIntervalS: options.scrapeIntervalS } : {}),
  });
  return {
    prometheusUrl: prometheus.url,
    alertmanagerUrl: alertmanager.url,
    ...(receiver ? { slackReceiverUrl: receiver.url, slackRecordFile: recordFile } : {}),
    scrapeTargetsDir: prometheus.targetsDir,
    pids: {
      prometheus: prometheus.pid,
      alertmanager: alertmanager.pid,
      ...(receiver ? { 'slack-receiver': receiver.pid } : {}),
    },
  };
}
