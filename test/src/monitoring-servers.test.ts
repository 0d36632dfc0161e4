import { mkdtemp, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import {
  type LocalServer,
  type PrometheusServer,
  removeScrapeTargets,
  type SlackReceiver,
  slackMessageText,
  startAlertmanager,
  startMonitoringStack,
  startPrometheus,
  startSlackReceiver,
  writeScrapeTargets,
} from '@reefguard/core';
import { type Agent, loadEdgeConfig, startAgent } from '@reefguard/edge-agent';
import { pino } from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

const MONITORING = resolve('infra/monitoring');

/** Posts alerts to Alertmanager's v2 API as Prometheus would. */
async function postAlerts(url: string, alerts: Array<Record<string, string>>) {
  const body = alerts.map(({ summary, ...labels }) => ({
    labels,
    annotations: {
      summary,
      description: `${summary} (test)`,
      runbook_url: 'docs/runbook.md#edge-agent-offline',
    },
    startsAt: new Date().toISOString(),
  }));
  const response = await fetch(`${url}/api/v2/alerts`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify(body),
  });
  expect(response.status).toBe(200);
}

async function until<T>(what: string, check: () => Promise<T | undefined>, timeoutMs = 20_000) {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await check();
    if (value !== undefined) return value;
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms: ${what}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

describe('monitoring servers - Slack receiver', () => {
  it('accepts Slack payloads, refuses empty ones like Slack does, records them as JSON lines', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'slack-'));
    const receiver = await startSlackReceiver({ recordFile: join(dir, 'slack.jsonl') });
    try {
      const post = (body: string) => fetch(receiver.url, { method: 'POST', body });
      const ok = await post(JSON.stringify({ text: 'hello', channel: '#x' }));
      expect([ok.status, await ok.text()]).toEqual([200, 'ok']);
      const empty = await post(JSON.stringify({ channel: '#x' }));
      expect([empty.status, await empty.text()]).toEqual([400, 'no_text']);
      const broken = await post('{not json');
      expect([broken.status, await broken.text()]).toEqual([400, 'invalid_payload']);
      expect((await fetch(receiver.url)).status).toBe(405);
      const attachment = await post(
        JSON.stringify({ attachments: [{ title: 'T', text: 'body' }] }),
      );
      expect(attachment.status).toBe(200);
      expect(receiver.messages().map(slackMessageText)).toEqual(['hello', 'T\nbody']);
      const lines = (await readFile(join(dir, 'slack.jsonl'), 'utf8')).trim().split('\n');
      expect(lines.map((l) => JSON.parse(l).payload.channel ?? null)).toEqual(['#x', null]);
      await expect(
        receiver.waitFor((m) => slackMessageText(m).includes('never'), { timeoutMs: 200 }),
      ).rejects.toThrow(/no matching Slack message within 200 ms; received 2: hello \| T/);
    } finally {
      await receiver.close();
      await rm(dir, { recursive: true, force: true });
    }
  });
});

describe('monitoring servers - Alertmanager with the shipped routing', () => {
  let dir: string;
  let slack: SlackReceiver;
  let alertmanager: LocalServer;
  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'am-'));
    slack = await startSlackReceiver();
    alertmanager = await startAlertmanager({
      dataDir: join(dir, 'alertmanager'),
      configFile: join(MONITORING, 'alertmanager.yml'),
      slackWebhookUrl: slack.url,
      timers: { groupWait: '1s', groupInterval: '1s' },
    });
  });
  afterAll(async () => {
    await alertmanager?.stop();
    await slack?.close();
    await rm(dir, { recursive: true, force: true });
  });

  it('keeps the webhook URL in a file only the owner reads, never in the config', async () => {
    const config = await readFile(join(dir, 'alertmanager', 'alertmanager.yml'), 'utf8');
    expect(config).not.toContain(slack.url);
    expect(config).toContain(join(dir, 'alertmanager', 'secrets', 'slack-webhook-url'));
    const secret = join(dir, 'alertmanager', 'secrets', 'slack-webhook-url');
    expect(await readFile(secret, 'utf8')).toBe(slack.url);
    expect((await stat(secret)).mode & 0o777).toBe(0o600);
  });

  it('routes critical alerts to the on-call channel, warnings to ops, and a critical mutes warnings of its site', async () => {
    await postAlerts(alertmanager.url, [
      {
        alertname: 'EdgeBacklogAgeCritical',
        severity: 'critical',
        component: 'edge',
        site_id: 'am-1',
        agent_id: 'gw-a',
        summary: 'backlog of gw-a',
      },
      {
        alertname: 'EdgeBacklogAgeHigh',
        severity: 'warning',
        component: 'edge',
        site_id: 'am-1',
        agent_id: 'gw-a',
        summary: 'muted warning of gw-a',
      },
      {
        alertname: 'EdgeAgentOffline',
        severity: 'warning',
        component: 'edge',
        site_id: 'am-2',
        agent_id: 'gw-b',
        summary: 'gw-b offline',
      },
    ]);
    const critical = await slack.waitFor((m) => slackMessageText(m).includes('backlog of gw-a'));
    expect(critical.payload.channel).toBe('#reefguard-oncall');
    expect(critical.payload.attachments?.[0]?.color).toBe('danger');
    expect(critical.payload.attachments?.[0]?.title).toBe(
      '[FIRING:1] EdgeBacklogAgeCritical site am-1',
    );
    expect(critical.payload.attachments?.[0]?.title_link).toBe(
      'docs/runbook.md#edge-agent-offline',
    );
    expect(slackMessageText(critical)).toContain('agent `gw-a` site `am-1`');
    const warning = await slack.waitFor((m) => slackMessageText(m).includes('gw-b offline'));
    expect(warning.payload.channel).toBe('#reefguard-ops');
    expect(warning.payload.attachments?.[0]?.color).toBe('warning');
    // The warning of the same site as the critical is inhibited, never sent.
    const alerts = (await (await fetch(`${alertmanager.url}/api/v2/alerts`)).json()) as Array<{
      labels: Record<string, string>;
      status: { inhibitedBy: string[] };
    }>;
    const muted = alerts.find((a) => a.labels.alertname === 'EdgeBacklogAgeHigh');
    expect(muted?.status.inhibitedBy).toHaveLength(1);
    await new Promise((r) => setTimeout(r, 2500));
    expect(slack.messages().some((m) => slackMessageText(m).includes('muted warning'))).toBe(false);
  });

  it('tells Slack when an alert resolves', async () => {
    const labels = {
      alertname: 'EdgeAgentOffline',
      severity: 'warning',
      component: 'edge',
      site_id: 'am-3',
      agent_id: 'gw-c',
    };
    const post = (endsAt?: string) =>
      fetch(`${alertmanager.url}/api/v2/alerts`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify([
          { labels, annotations: { summary: 'gw-c offline' }, ...(endsAt ? { endsAt } : {}) },
        ]),
      });
    expect((await post()).status).toBe(200);
    await slack.waitFor(
      (m) => m.payload.attachments?.[0]?.title === '[FIRING:1] EdgeAgentOffline site am-3',
    );
    expect((await post(new Date().toISOString())).status).toBe(200);
    const resolved = await slack.waitFor(
      (m) => m.payload.attachments?.[0]?.title === '[RESOLVED] EdgeAgentOffline site am-3',
    );
    expect(resolved.payload.attachments?.[0]?.color).toBe('good');
  });

  it('names the problem when the config cannot hold the secret as a file', async () => {
    const bad = join(dir, 'bad.yml');
    await writeFile(
      bad,
      'route:\n  receiver: s\nreceivers:\n  - name: s\n    slack_configs:\n      - api_url: http://x\n',
    );
    await expect(
      startAlertmanager({ dataDir: join(dir, 'bad'), configFile: bad, slackWebhookUrl: slack.url }),
    ).rejects.toThrow(/api_url_file/);
    await expect(
      startAlertmanager({
        dataDir: join(dir, 'bad2'),
        configFile: join(MONITORING, 'alertmanager.yml'),
        slackWebhookUrl: 'not a url',
      }),
    ).rejects.toThrow(/Slack webhook URL is not a URL/);
  });
});

describe('monitoring servers - Prometheus scrapes edge agents listed by file_sd', () => {
  it('picks up an agent when its target file appears, and reports it down once it stops', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'prom-'));
    let prometheus: PrometheusServer | undefined;
    let agent: Agent | undefined;
    try {
      prometheus = await startPrometheus({
        dataDir: join(dir, 'prometheus'),
        scrapeIntervalS: 1,
        targetsRefreshS: 1,
      });
      agent = await startAgent(
        loadEdgeConfig(
          {
            AGENT_ID: 'gw-prom',
            SITE_ID: '18-054',
            STATION_ID: 'davies-buoy',
            STATE_DIR: join(dir, 'agent'),
            TRANSPORT: 'mqtt',
            // Nothing listens there: the agent runs offline and its backlog grows.
            MQTT_URL: 'mqtt://127.0.0.1:9',
            SOURCE: 'replay',
            REPLAY_GENERATE_COUNT: 50,
            HEALTH_PORT: 0,
            OUTBOX_FSYNC: 'never',
          },
          {},
        ),
        { logger: pino({ level: 'silent' }) },
      );
      const healthUrl = agent.healthUrl as string;
      await writeScrapeTargets(prometheus.targetsDir, 'edge-agent', 'gw-prom', [
        { url: healthUrl, labels: { agent_id: 'gw-prom', site_id: '18-054' } },
      ]);
      const query = async (q: string) => {
        const r = await fetch(`${prometheus?.url}/api/v1/query?query=${encodeURIComponent(q)}`);
        const body = (await r.json()) as {
          data: { result: Array<{ metric: Record<string, string>; value: [number, string] }> };
        };
        return body.data.result;
      };
      const up = await until('the agent scraped', async () => {
        const [series] = await query('up{job="edge-agent"}');
        return series?.value[1] === '1' ? series : undefined;
      });
      expect(up.metric).toMatchObject({
        agent_id: 'gw-prom',
        site_id: '18-054',
        instance: new URL(healthUrl).host,
      });
      const [depth] = await until('the queue depth', async () => {
        const r = await query('reefguard_edge_queue_depth{agent_id="gw-prom"}');
        return r.length ? r : undefined;
      });
      expect(Number(depth?.value[1])).toBeGreaterThanOrEqual(0);
      await agent.close();
      agent = undefined;
      await until('the agent reported down', async () => {
        const [series] = await query('up{job="edge-agent",agent_id="gw-prom"}');
        return series?.value[1] === '0' ? true : undefined;
      });
      await removeScrapeTargets(prometheus.targetsDir, 'edge-agent', 'gw-prom');
      await until('the target dropped', async () => {
        const r = await fetch(`${prometheus?.url}/api/v1/targets?state=active`);
        const body = (await r.json()) as { data: { activeTargets: unknown[] } };
        return body.data.activeTargets.length === 0 ? true : undefined;
      });
    } finally {
      await agent?.close();
      await prometheus?.stop();
      await rm(dir, { recursive: true, force: true });
    }
  });

  it('refuses scrape targets that are not metrics URLs', async () => {
    await expect(
      writeScrapeTargets(tmpdir(), 'serving', 'x', [{ url: '127.0.0.1:80' }]),
    ).rejects.toThrow(/not a URL/);
    await expect(
      writeScrapeTargets(tmpdir(), 'serving', 'x', [{ url: 'http://127.0.0.1:80/stats' }]),
    ).rejects.toThrow(/\/metrics/);
    await expect(writeScrapeTargets(tmpdir(), 'serving', '../x', [])).rejects.toThrow(
      /scrape target name/,
    );
  });
});

describe('monitoring servers - the detached monitoring stack of `services start`', () => {
  it('starts Prometheus with the shipped rules, Alertmanager and a Slack receiver that outlive their starter', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'monstack-'));
    let pids: number[] = [];
    try {
      const state = await startMonitoringStack(dir, {
        scrapeIntervalS: 1,
        alertTimers: { groupWait: '1s' },
      });
      pids = Object.values(state.pids);
      expect(Object.keys(state.pids).sort()).toEqual([
        'alertmanager',
        'prometheus',
        'slack-receiver',
      ]);
      const rules = (await (await fetch(`${state.prometheusUrl}/api/v1/rules`)).json()) as {
        data: { groups: Array<{ name: string; rules: Array<{ name: string }> }> };
      };
      const names = rules.data.groups.flatMap((g) => g.rules.map((r) => r.name));
      expect(names).toContain('FeatureDriftHigh');
      expect(names).toContain('EdgeAgentOffline');
      const alertmanagers = await until('Prometheus knows its Alertmanager', async () => {
        const body = (await (
          await fetch(`${state.prometheusUrl}/api/v1/alertmanagers`)
        ).json()) as {
          data: { activeAlertmanagers: Array<{ url: string }> };
        };
        return body.data.activeAlertmanagers.length ? body.data.activeAlertmanagers : undefined;
      });
      expect(alertmanagers[0]?.url).toBe(`${state.alertmanagerUrl}/api/v2/alerts`);
      // Alertmanager reaches the detached receiver, which records to its file.
      await postAlerts(state.alertmanagerUrl, [
        {
          alertname: 'CrwAlertLevel2',
          severity: 'critical',
          component: 'reef',
          site_id: 'stack-1',
          summary: 'stack check',
        },
      ]);
      const record = state.slackRecordFile as string;
      await until(
        'the message recorded',
        async () => {
          const text = await readFile(record, 'utf8').catch(() => '');
          return text.includes('CrwAlertLevel2 site stack-1') ? text : undefined;
        },
        30_000,
      );
      expect(state.slackReceiverUrl).toMatch(/^http:\/\/127\.0\.0\.1:\d+\/services\//);
    } finally {
      for (const pid of pids) {
        try {
          process.kill(pid, 'SIGTERM');
        } catch {}
      }
      await new Promise((r) => setTimeout(r, 500));
      await rm(dir, { recursive: true, force: true });
    }
  }, 60_000);
});
