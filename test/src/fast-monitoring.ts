import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import {
  type LocalServer,
  type PrometheusServer,
  startAlertmanager,
  startPrometheus,
} from '@reefguard/core';
import { writeScaledMonitoring } from '../../report/src/demo-rules.js';

const MONITORING = fileURLToPath(new URL('../../infra/monitoring/', import.meta.url));

/**
 * Alertmanager (the shipped routing, 1 s route timers, posting to `slackWebhookUrl`) and
 * Prometheus (the shipped rules generated with every `for:` at 0 s and every group evaluated
 * each second, 1 s scrapes and file_sd rereads) under `dir`: the shipped alerts on a test's
 * clock. Stop both when done.
 */
export async function startFastMonitoring(
  dir: string,
  slackWebhookUrl: string,
): Promise<{ alertmanager: LocalServer; prometheus: PrometheusServer }> {
  const { configDir, ruleFiles } = await writeScaledMonitoring(
    MONITORING,
    join(dir, 'monitoring-config'),
    { forScale: 0, intervalS: 1 },
  );
  const alertmanager = await startAlertmanager({
    dataDir: join(dir, 'alertmanager'),
    configFile: join(configDir, 'alertmanager.yml'),
    slackWebhookUrl,
    timers: { groupWait: '1s', groupInterval: '1s' },
  });
  const prometheus = await startPrometheus({
    dataDir: join(dir, 'prometheus'),
    ruleFiles,
    alertmanagerUrl: alertmanager.url,
    scrapeIntervalS: 1,
    evaluationIntervalS: 1,
    targetsRefreshS: 1,
  }).catch(async (error: unknown) => {
    await alertmanager.stop();
    throw error;
  });
  return { alertmanager, prometheus };
}
