import { mkdir, readdir, rename, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { ConfigError, TransportError } from '../errors.js';
import {
  DEFAULT_READY_TIMEOUT_MS,
  findExecutable,
  freePort,
  type LocalServer,
  startServer,
} from './process.js';
import type { ServerOptions } from './servers.js';

/** The jobs of infra/monitoring/prometheus.yml; their names are what the alert rules match. */
export const MONITORING_JOBS = ['serving', 'stream-processor', 'edge-agent'] as const;
export type MonitoringJob = (typeof MONITORING_JOBS)[number];

export const DEFAULT_SCRAPE_INTERVAL_S = 15;

export interface PrometheusOptions extends ServerOptions {
  /**
   * file_sd folder: `<targetsDir>/<job>/*.json` lists each job's targets, so services and
   * edge agents join and leave without a restart (`writeScrapeTargets`). Default: dataDir/targets.
   */
  targetsDir?: string;
  /** Rule files or globs (e.g. infra/monitoring/rules/*.yml). */
  ruleFiles?: string[];
  /** Where to send alerts, e.g. the URL of `startAlertmanager`. */
  alertmanagerUrl?: string;
  scrapeIntervalS?: number;
  /** How often rule groups without their own `interval` are evaluated. */
  evaluationIntervalS?: number;
  /** Seconds between rereads of the file_sd folder. */
  targetsRefreshS?: number;
}

/** A running Prometheus plus where its scrape targets are listed. */
export interface PrometheusServer extends LocalServer {
  readonly targetsDir: string;
  readonly configFile: string;
}

/** One scrape target: the base URL of a /metrics endpoint and labels every series gets. */
export interface ScrapeTarget {
  url: string;
  labels?: Record<string, string>;
}

/** The prometheus.yml for loopback services: the same jobs as the shipped one, file_sd only. */
export function renderPrometheusConfig(options: {
  targetsDir: string;
  ruleFiles?: string[];
  alertmanagerUrl?: string;
  scrapeIntervalS?: number;
  evaluationIntervalS?: number;
  targetsRefreshS?: number;
}): string {
  const scrapeS = options.scrapeIntervalS ?? DEFAULT_SCRAPE_INTERVAL_S;
  const config = {
    global: {
      scrape_interval: `${scrapeS}s`,
      scrape_timeout: `${Math.min(scrapeS, 10)}s`,
      evaluation_interval: `${options.evaluationIntervalS ?? scrapeS}s`,
      external_labels: { deployment: 'local' },
    },
    rule_files: options.ruleFiles ?? [],
    ...(options.alertmanagerUrl
      ? {
          alerting: {
            alertmanagers: [
              { static_configs: [{ targets: [new URL(options.alertmanagerUrl).host] }] },
            ],
          },
        }
      : {}),
    scrape_configs: MONITORING_JOBS.map((job) => ({
      job_name: job,
      file_sd_configs: [
        {
          files: [join(options.targetsDir, job, '*.json')],
          refresh_interval: `${options.targetsRefreshS ?? Math.min(scrapeS, 5)}s`,
        },
      ],
    })),
  };
  // JSON is YAML: Prometheus reads it as it is, and no YAML writer is needed.
  return `${JSON.stringify(config, null, 2)}\n`;
}

/**
 * Lists `targets` for `job` under `name` (one file per service or agent), replacing what that
 * name listed before; Prometheus picks it up within `targetsRefreshS`. Written atomically so
 * Prometheus never reads half a file.
 */
export async function writeScrapeTargets(
  targetsDir: string,
  job: MonitoringJob,
  name: string,
  targets: ScrapeTarget[],
): Promise<void> {
  if (!/^[\w.-]+$/.test(name)) {
    throw new ConfigError(`scrape target name "${name}": use letters, digits, ".", "_" or "-"`);
  }
  const groups = targets.map((target) => {
    let url: URL;
    try {
      url = new URL(target.url);
    } catch (cause) {
      throw new ConfigError(`scrape target "${target.url}" is not a URL (http://host:port)`, {
        cause,
      });
    }
    if (url.pathname !== '/' && url.pathname !== '/metrics') {
      throw new ConfigError(`scrape target ${target.url}: metrics must be served on /metrics`);
    }
    return { targets: [url.host], labels: target.labels ?? {} };
  });
  const dir = join(targetsDir, job);
  await mkdir(dir, { recursive: true });
  const path = join(dir, `${name}.json`);
  await writeFile(`${path}.tmp`, `${JSON.stringify(groups, null, 2)}\n`);
  await rename(`${path}.tmp`, path);
}

/** Stops scraping what `name` listed for `job`. */
export async function removeScrapeTargets(targetsDir: string, job: MonitoringJob, name: string) {
  await rm(join(targetsDir, job, `${name}.json`), { force: true });
}

/** The names listed for a job (file names without .json). */
export async function listScrapeTargets(targetsDir: string, job: MonitoringJob) {
  const files = await readdir(join(targetsDir, job)).catch(() => []);
  return files.filter((f) => f.endsWith('.json')).map((f) => f.slice(0, -5));
}

/** Polls `<url>/-/ready` (Prometheus and Alertmanager both answer it once they serve). */
export async function waitForReady(name: string, url: string, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  let last = '';
  while (Date.now() < deadline) {
    try {
      const response = await fetch(`${url}/-/ready`);
      if (response.ok) return;
      last = `HTTP ${response.status}`;
    } catch (error) {
      last = String(error);
    }
    await sleep(100);
  }
  throw new TransportError(`${name} at ${url} not ready after ${timeoutMs} ms (${last})`);
}

/**
 * A real Prometheus on loopback with its TSDB in `dataDir`, scraping the file_sd targets of
 * the ReefGuard jobs and evaluating `ruleFiles`; resolves once /-/ready answers.
 */
export async function startPrometheus(options: PrometheusOptions): Promise<PrometheusServer> {
  const executable = findExecutable('prometheus', 'prometheus');
  const port = options.port ?? (await freePort());
  const targetsDir = options.targetsDir ?? join(options.dataDir, 'targets');
  const configFile = join(options.dataDir, 'prometheus.yml');
  await mkdir(options.dataDir, { recursive: true });
  for (const job of MONITORING_JOBS) await mkdir(join(targetsDir, job), { recursive: true });
  await writeFile(configFile, renderPrometheusConfig({ ...options, targetsDir }));
  const url = `http://127.0.0.1:${port}`;
  const server = await startServer({
    name: 'prometheus',
    executable,
    args: [
      `--config.file=${configFile}`,
      `--storage.tsdb.path=${join(options.dataDir, 'tsdb')}`,
      '--storage.tsdb.retention.time=7d',
      `--web.listen-address=127.0.0.1:${port}`,
      // POST /-/reload after editing the rules, without a restart.
      '--web.enable-lifecycle',
      '--log.level=warn',
    ],
    port,
    dataDir: options.dataDir,
    url,
    detached: options.detached,
  });
  await waitForReady('prometheus', url, DEFAULT_READY_TIMEOUT_MS);
  return Object.assign(server, { targetsDir, configFile });
}
