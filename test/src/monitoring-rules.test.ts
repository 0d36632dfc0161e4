import { execFile } from 'node:child_process';
import { mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { promisify } from 'node:util';
import { renderPrometheusConfig } from '@reefguard/core';
import { describe, expect, it } from 'vitest';

const run = promisify(execFile);
const MONITORING = resolve('infra/monitoring');
const RULES = join(MONITORING, 'rules', 'reefguard.rules.yml');

/** GitHub's heading anchors: lower case, punctuation dropped, spaces to hyphens. */
const anchorOf = (heading: string) =>
  heading
    .trim()
    .toLowerCase()
    .replace(/[^\w\- ]/g, '')
    .replace(/ /g, '-');

interface Rule {
  alert: string;
  block: string;
}

/** The alert rules, each with its YAML block (one rule per `- alert:` item). */
async function alertRules(): Promise<Rule[]> {
  const text = await readFile(RULES, 'utf8');
  return text
    .split(/^ {6}- alert: /m)
    .slice(1)
    .map((block) => ({ alert: (block.split('\n')[0] as string).trim(), block }));
}

describe('monitoring rules - promtool and coverage', () => {
  it('promtool check rules and every rule unit test pass', async () => {
    const check = await run('promtool', ['check', 'rules', RULES]);
    expect(check.stdout).toMatch(/SUCCESS: \d+ rules found/);
    const tests = (await readdir(join(MONITORING, 'tests'))).filter((f) => f.endsWith('.test.yml'));
    expect(tests.length).toBeGreaterThan(0);
    const result = await run('promtool', ['test', 'rules', ...tests], {
      cwd: join(MONITORING, 'tests'),
    });
    expect(`${result.stdout}${result.stderr}`).toContain('SUCCESS');
  });

  it('every alert is unit-tested both firing and silent', async () => {
    const tests = await readFile(join(MONITORING, 'tests', 'reefguard.test.yml'), 'utf8');
    const cases = [...tests.matchAll(/alertname: (\w+)\n\s+exp_alerts:(.*)\n/g)].map((m) => ({
      alert: m[1] as string,
      silent: (m[2] as string).trim() === '[]',
    }));
    for (const { alert } of await alertRules()) {
      expect(
        cases.some((c) => c.alert === alert && !c.silent),
        `${alert} fires`,
      ).toBe(true);
      expect(
        cases.some((c) => c.alert === alert && c.silent),
        `${alert} stays silent`,
      ).toBe(true);
    }
  });

  it('every alert has severity, component, summary, description and a runbook anchor that exists', async () => {
    const runbook = await readFile(resolve('docs/runbook.md'), 'utf8');
    const anchors = new Set(
      [...runbook.matchAll(/^#{2,3} (.+)$/gm)].map((m) => anchorOf(m[1] as string)),
    );
    const rules = await alertRules();
    expect(rules.length).toBeGreaterThanOrEqual(20);
    expect(new Set(rules.map((r) => r.alert)).size).toBe(rules.length);
    for (const { alert, block } of rules) {
      expect(block, alert).toMatch(/severity: (critical|warning)\n/);
      expect(block, alert).toMatch(/component: (drift|serving|stream|edge|reef)\n/);
      expect(block, alert).toMatch(/summary: /);
      expect(block, alert).toMatch(/description: /);
      const url = /runbook_url: docs\/runbook\.md#([\w-]+)/.exec(block)?.[1];
      expect(url, `${alert} runbook_url`).toBeDefined();
      expect(anchors.has(url as string), `${alert}: docs/runbook.md#${url} exists`).toBe(true);
      // The alert index of the runbook names every alert.
      expect(runbook, `${alert} in the runbook's alert index`).toContain(`\`${alert}\``);
    }
  });

  it('the seed thresholds are the ones in the rules', async () => {
    const rules = Object.fromEntries((await alertRules()).map((r) => [r.alert, r.block]));
    expect(rules.FeatureDriftHigh).toMatch(/reefguard_feature_psi\) > 0\.3\n/);
    expect(rules.InferenceLatencyP95High).toMatch(
      /histogram_quantile\(0\.95,[\s\S]*reefguard_inference_latency_seconds_bucket[\s\S]*\) > 0\.5\n/,
    );
  });

  it('the rendered local Prometheus config is valid for promtool with the shipped rules', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'promcfg-'));
    try {
      const path = join(dir, 'prometheus.yml');
      await writeFile(
        path,
        renderPrometheusConfig({
          targetsDir: join(dir, 'targets'),
          ruleFiles: [RULES],
          alertmanagerUrl: 'http://127.0.0.1:9093',
        }),
      );
      const result = await run('promtool', ['check', 'config', path]);
      expect(`${result.stdout}${result.stderr}`).toMatch(
        /SUCCESS: 21 rules found|SUCCESS: \d+ rules found/,
      );
      const config = JSON.parse(await readFile(path, 'utf8'));
      expect(config.scrape_configs.map((j: { job_name: string }) => j.job_name)).toEqual([
        'serving',
        'stream-processor',
        'edge-agent',
      ]);
      expect(config.alerting.alertmanagers[0].static_configs[0].targets).toEqual([
        '127.0.0.1:9093',
      ]);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });

  it('amtool accepts the shipped Alertmanager config and routes critical to on-call', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'amcfg-'));
    try {
      const text = (await readFile(join(MONITORING, 'alertmanager.yml'), 'utf8')).replaceAll(
        '/etc/alertmanager/',
        `${MONITORING}/`,
      );
      const path = join(dir, 'alertmanager.yml');
      await writeFile(path, text);
      const check = await run('amtool', ['check-config', path]);
      expect(check.stdout).toContain('SUCCESS');
      const route = async (...labels: string[]) =>
        (
          await run('amtool', ['config', 'routes', 'test', `--config.file=${path}`, ...labels])
        ).stdout.trim();
      expect(await route('severity=critical', 'component=serving')).toBe('slack-reef-oncall');
      expect(await route('severity=warning', 'component=edge')).toBe('slack-reef-ops');
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });

  it('every dashboard is valid Grafana JSON provisioned against the Prometheus datasource', async () => {
    const grafana = join(MONITORING, 'grafana');
    const provisioning = await readFile(
      join(grafana, 'provisioning', 'datasources', 'prometheus.yaml'),
      'utf8',
    );
    const prometheusUid = /uid: (\S+)\n\s+type: prometheus\n/.exec(provisioning)?.[1];
    expect(prometheusUid).toBe('reefguard-prometheus');
    const dashboardsYaml = await readFile(
      join(grafana, 'provisioning', 'dashboards', 'reefguard.yaml'),
      'utf8',
    );
    expect(dashboardsYaml).toMatch(/path: \/var\/lib\/grafana\/dashboards/);
    const dir = join(grafana, 'dashboards');
    const files = (await readdir(dir)).filter((f) => f.endsWith('.json'));
    expect(files).toHaveLength(4);
    const uids = new Set<string>();
    for (const file of files) {
      const board = JSON.parse(await readFile(join(dir, file), 'utf8')) as {
        uid: string;
        title: string;
        schemaVersion: number;
        templating: { list: Array<{ name: string }> };
        panels: Array<{
          id: number;
          type: string;
          gridPos: { x: number; y: number; w: number; h: number };
          datasource: { uid: string };
          targets: Array<{ expr: string; refId: string; datasource: { uid: string } }>;
          options: { layers?: Array<{ location: { latitude: string; longitude: string } }> };
          transformations?: unknown[];
        }>;
      };
      expect(board.schemaVersion, file).toBeGreaterThanOrEqual(36);
      expect(board.uid, file).toMatch(/^[\w-]{1,40}$/);
      expect(uids.has(board.uid), `${file}: uid unique`).toBe(false);
      uids.add(board.uid);
      const ids = board.panels.map((p) => p.id);
      expect(new Set(ids).size, `${file}: panel ids unique`).toBe(ids.length);
      const variables = new Set(board.templating.list.map((v) => v.name));
      for (const panel of board.panels) {
        const where = `${file} panel ${panel.id}`;
        expect(['timeseries', 'stat', 'table', 'geomap', 'bargauge', 'piechart'], where).toContain(
          panel.type,
        );
        expect(panel.gridPos.x + panel.gridPos.w, where).toBeLessThanOrEqual(24);
        expect(panel.datasource.uid, where).toBe(prometheusUid);
        expect(panel.targets.length, where).toBeGreaterThan(0);
        expect(new Set(panel.targets.map((t) => t.refId)).size, where).toBe(panel.targets.length);
        for (const t of panel.targets) {
          expect(t.datasource.uid, where).toBe(prometheusUid);
          for (const [, name] of t.expr.matchAll(/\$(?!__)(\w+)/g)) {
            expect(
              variables.has(name as string),
              `${where}: $${name} is a dashboard variable`,
            ).toBe(true);
          }
        }
        if (panel.type === 'geomap') {
          // The markers are placed from the lat/lon labels the query keeps.
          const location = panel.options.layers?.[0]?.location;
          expect(location, where).toEqual({ mode: 'coords', latitude: 'lat', longitude: 'lon' });
          expect(panel.targets[0]?.expr, where).toMatch(/by \(site_id, site_name, lat, lon\)/);
          // Labels arrive as strings; Grafana places markers only from numeric fields.
          expect(panel.transformations, where).toContainEqual({
            id: 'convertFieldType',
            options: {
              fields: {},
              conversions: [
                { targetField: 'lat', destinationType: 'number' },
                { targetField: 'lon', destinationType: 'number' },
              ],
            },
          });
        }
      }
    }
  });
});
