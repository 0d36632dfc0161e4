import { chmod, copyFile, mkdir, readdir, readFile, writeFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { ConfigError, TransportError } from '../errors.js';
import {
  DEFAULT_READY_TIMEOUT_MS,
  findExecutable,
  freePort,
  type LocalServer,
  startServer,
} from './process.js';
import { waitForReady } from './prometheus.js';
import type { ServerOptions } from './servers.js';

/** Where the shipped alertmanager.yml expects its templates and secrets (the container path). */
export const ALERTMANAGER_CONFIG_ROOT = '/etc/alertmanager/';
export const SLACK_WEBHOOK_FILE = 'secrets/slack-webhook-url';

export interface AlertmanagerOptions extends ServerOptions {
  /** The routing to run: infra/monitoring/alertmanager.yml (templates/ next to it are used). */
  configFile: string;
  /** The Slack incoming-webhook URL; written to a file only Alertmanager reads (mode 0600). */
  slackWebhookUrl: string;
  /** Shorter route timers (Go durations such as "1s") for tests and the demo. */
  timers?: { groupWait?: string; groupInterval?: string; repeatInterval?: string };
}

const DURATION = /^\d+(ms|s|m|h)$/;

/**
 * The shipped config made local: container paths point into `dataDir`, and the timers of
 * every route are replaced when `timers` says so. Everything else (receivers, grouping,
 * inhibition) stays exactly as shipped.
 */
export function localAlertmanagerConfig(
  text: string,
  dataDir: string,
  timers: AlertmanagerOptions['timers'] = {},
): string {
  if (!text.includes(`${ALERTMANAGER_CONFIG_ROOT}${SLACK_WEBHOOK_FILE}`)) {
    throw new ConfigError(
      `the Alertmanager config must read the Slack URL from ${ALERTMANAGER_CONFIG_ROOT}${SLACK_WEBHOOK_FILE} (api_url_file)`,
    );
  }
  let local = text.replaceAll(ALERTMANAGER_CONFIG_ROOT, `${dataDir}/`);
  for (const [key, value] of Object.entries({
    group_wait: timers.groupWait,
    group_interval: timers.groupInterval,
    repeat_interval: timers.repeatInterval,
  })) {
    if (value === undefined) continue;
    if (!DURATION.test(value)) throw new ConfigError(`${key} "${value}" is not a duration like 5s`);
    local = local.replace(new RegExp(`^(\\s*${key}:).*$`, 'gm'), `$1 ${value}`);
  }
  return local;
}

/**
 * A real Alertmanager on loopback running the given routing, with the Slack webhook URL in a
 * secret file and cluster gossip off; resolves once /-/ready answers.
 */
export async function startAlertmanager(options: AlertmanagerOptions): Promise<LocalServer> {
  const executable = (() => {
    try {
      return findExecutable('alertmanager', 'prometheus-alertmanager');
    } catch {
      // Debian names the binary after its package.
      return findExecutable('prometheus-alertmanager', 'prometheus-alertmanager');
    }
  })();
  try {
    new URL(options.slackWebhookUrl);
  } catch (cause) {
    throw new ConfigError('the Slack webhook URL is not a URL', { cause });
  }
  const text = await readFile(options.configFile, 'utf8').catch((cause: unknown) => {
    throw new TransportError(`cannot read Alertmanager config ${options.configFile}`, { cause });
  });
  const { dataDir } = options;
  await mkdir(join(dataDir, 'secrets'), { recursive: true });
  await mkdir(join(dataDir, 'templates'), { recursive: true });
  const secretPath = join(dataDir, SLACK_WEBHOOK_FILE);
  await writeFile(secretPath, options.slackWebhookUrl, { mode: 0o600 });
  await chmod(secretPath, 0o600);
  const templatesDir = join(dirname(options.configFile), 'templates');
  for (const file of await readdir(templatesDir).catch(() => [])) {
    if (file.endsWith('.tmpl'))
      await copyFile(join(templatesDir, file), join(dataDir, 'templates', file));
  }
  const configFile = join(dataDir, 'alertmanager.yml');
  await writeFile(configFile, localAlertmanagerConfig(text, dataDir, options.timers));
  const port = options.port ?? (await freePort());
  const url = `http://127.0.0.1:${port}`;
  const server = await startServer({
    name: 'alertmanager',
    executable,
    args: [
      `--config.file=${configFile}`,
      `--storage.path=${join(dataDir, 'data')}`,
      `--web.listen-address=127.0.0.1:${port}`,
      // One instance: no gossip port to collide with other stacks on the machine.
      '--cluster.listen-address=',
      '--log.level=warn',
    ],
    port,
    dataDir,
    url,
    detached: options.detached,
  });
  await waitForReady('alertmanager', url, DEFAULT_READY_TIMEOUT_MS);
  return server;
}
