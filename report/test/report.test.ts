import { cpSync } from 'node:fs';
import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import type { BuoyReading, ModelCard } from '@reefguard/core';
import { openOfflineStore } from '@reefguard/stream-processor';
import { afterEach, describe, expect, it } from 'vitest';
import { run } from '../src/cli.js';
import { gatherReport, renderReport, summarizeReport, writeReport } from '../src/index.js';

const ROOT = resolve(import.meta.dirname, '../..');
const FIXTURE_CARD = join(ROOT, 'test/fixtures/models/v1/model-card.json');
const MODEL = 'reefguard-bleaching-risk';
const DATA_VERSION = 'a'.repeat(64);
const TRACE = 'trace-0000-canary-1';

const metricSet = (f1: number | null, n = 100, positives = 30) => ({
  n,
  positives,
  auroc: f1 === null ? null : 0.7,
  pr_auc: null,
  f1,
  brier: f1 === null ? null : 0.12,
  peirce: null,
});

async function writeCard(dir: string, version: string) {
  const base = JSON.parse(await readFile(FIXTURE_CARD, 'utf8')) as ModelCard;
  const card: ModelCard = {
    ...base,
    name: MODEL,
    version,
    data_version: DATA_VERSION,
    code_version: 'c0ffee1234',
    metrics: {
      validation: 'leave-one-event-out',
      overall: { model: metricSet(0.512, 300, 90), crw_baseline: metricSet(0.433, 300, 90) },
      held_out_events: [
        { event: 'gbr-1998', model: metricSet(0.62), crw_baseline: metricSet(0.41) },
        { event: 'gbr-2002', model: metricSet(0.3), crw_baseline: metricSet(0.55) },
        { event: 'gcbd-2005', model: metricSet(null, 3, 0), crw_baseline: metricSet(null, 3, 0) },
      ],
    },
  };
  const path = join(dir, 'models', MODEL, version);
  await mkdir(path, { recursive: true });
  await writeFile(join(path, 'model-card.json'), JSON.stringify(card));
}

const lines = (items: unknown[]) => `${items.map((i) => JSON.stringify(i)).join('\n')}\n`;

function reading(station: string, site: string, day: number): BuoyReading {
  const observedAt = new Date(Date.UTC(2016, 0, 1 + day, 12)).toISOString();
  return {
    schema_version: 1,
    id: `${station}/water_temperature/${Date.parse(observedAt)}`,
    site_id: site,
    station_id: station,
    parameter: 'water_temperature',
    value: 29 + day / 100,
    unit: 'degC',
    observed_at: observedAt,
    source: 'replay',
  };
}

const edgeSnapshot = (
  id: string,
  site: string,
  station: string,
  sent: number,
  version: string,
  stationIds?: string[],
) => ({
  component: 'edge-agent',
  id,
  site_id: site,
  station_id: station,
  ...(stationIds ? { station_ids: stationIds } : {}),
  scraped_at: '2026-01-01T00:10:00Z',
  samples: [
    { name: 'reefguard_edge_readings_enqueued_total', labels: {}, value: sent },
    { name: 'reefguard_edge_published_total', labels: { broker: 'nats' }, value: sent },
    { name: 'reefguard_edge_published_total', labels: { broker: 'mqtt' }, value: sent },
    { name: 'reefguard_edge_queue_depth', labels: {}, value: 0 },
    { name: 'reefguard_edge_inferences_total', labels: {}, value: sent - 1 },
    { name: 'reefguard_edge_model_info', labels: { name: MODEL, version, sha256: 'x' }, value: 1 },
  ],
});

/**
 * A state dir with known numbers: 2 gateways (120 + 80 readings sent; the second carries two
 * buoys), 200 readings stored by
 * the real offline-store writer plus 3 quarantined, 3 drift checks (1 drifted), a canary
 * promotion with its gates, one retrain, a 2-site risk map and 2 Slack messages.
 */
async function syntheticStateDir(options: { storedB?: number } = {}): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), 'report-state-'));
  await writeCard(dir, '1');
  await writeCard(dir, '2');
  await writeFile(join(dir, 'models', MODEL, 'aliases.json'), JSON.stringify({ champion: '2' }));
  await mkdir(join(dir, 'training-set'));
  cpSync(
    join(ROOT, 'report/test/fixtures/training-set-manifest.json'),
    join(dir, 'training-set/manifest.json'),
  );
  await mkdir(join(dir, 'serving'));
  await writeFile(
    join(dir, 'serving/audit.jsonl'),
    lines([
      {
        at: '2026-01-01T00:05:00.000Z',
        action: 'canary-promote',
        target: 'champion',
        name: MODEL,
        version: '2',
        previous: '1',
        applied: true,
        dry_run: false,
        gates: [
          { gate: 'error_rate', passed: true, detail: 'challenger 0.00 % vs champion 0.00 %' },
          { gate: 'latency_p50', passed: true, detail: 'challenger 4.1 ms vs champion 4.3 ms' },
        ],
        reason: 'canary healthy for 30 s: promoted',
        actor: 'canary',
        trace_id: TRACE,
      },
    ]),
  );
  await mkdir(join(dir, 'events'));
  const drift = (psi: number, minute: number) => ({
    subject: 'reefguard.v1.drift.dhw',
    received_at: `2026-01-01T00:0${minute}:00.000Z`,
    data: {
      schema_version: 1,
      id: `1/dhw/${minute}`,
      trace_id: `trace-drift-${minute}`,
      feature: 'dhw',
      psi,
      threshold: 0.3,
      drifted: psi > 0.3,
      window_start: '2026-01-01T00:00:00.000Z',
      window_end: `2026-01-01T00:0${minute}:00.000Z`,
      window_count: 500,
      model_version: '1',
    },
  });
  await writeFile(
    join(dir, 'events/drift.jsonl'),
    lines([drift(0.05, 1), drift(0.21, 2), drift(0.87, 3)]),
  );
  await writeFile(
    join(dir, 'events/retrain.jsonl'),
    lines([
      {
        subject: 'reefguard.v1.retrain.requests',
        received_at: '2026-01-01T00:03:01.000Z',
        data: { id: 'retrain-1-dhw', trace_id: TRACE, reason: 'drift', features: ['dhw'] },
      },
      {
        subject: 'reefguard.v1.retrain.results',
        received_at: '2026-01-01T00:04:00.000Z',
        data: {
          request_id: 'retrain-1-dhw',
          trace_id: TRACE,
          status: 'succeeded',
          model_version: '2',
          mlflow_run_id: 'run-abc123',
        },
      },
    ]),
  );
  await writeFile(
    join(dir, 'events/models.jsonl'),
    lines([
      {
        subject: 'reefguard.v1.models.announcements',
        received_at: '2026-01-01T00:05:01.000Z',
        data: {
          version: '2',
          alias: 'champion',
          decision: 'promote',
          trace_id: TRACE,
          announced_at: '2026-01-01T00:05:01.000Z',
        },
      },
    ]),
  );
  await mkdir(join(dir, 'counters'));
  await writeFile(
    join(dir, 'counters/edge-agent-gw-a.json'),
    JSON.stringify(edgeSnapshot('gw-a', 'pixel-10', 'buoy-a', 120, '2')),
  );
  await writeFile(
    join(dir, 'counters/edge-agent-gw-b.json'),
    JSON.stringify(edgeSnapshot('gw-b', 'pixel-20', 'buoy-b', 80, '1', ['buoy-b', 'buoy-c'])),
  );
  await writeFile(
    join(dir, 'counters/stream-processor-0.json'),
    JSON.stringify({
      component: 'stream-processor',
      id: '0',
      scraped_at: '2026-01-01T00:10:00Z',
      samples: [
        { name: 'reefguard_stream_readings_total', labels: { outcome: 'applied' }, value: 200 },
        { name: 'reefguard_stream_readings_total', labels: { outcome: 'quarantined' }, value: 3 },
      ],
    }),
  );
  const store = await openOfflineStore(join(dir, 'stream-0.duckdb'));
  const now = Date.now();
  const stored = (station: string, site: string, n: number) =>
    Array.from({ length: n }, (_, i) => {
      const r = reading(station, site, i);
      return { reading: r, observedMs: Date.parse(r.observed_at), ingestedMs: now };
    });
  await store.appendReadings([
    ...stored('buoy-a', 'pixel-10', 120),
    // gw-b carries two buoys: 50 readings of its own, the rest from buoy-c at another site.
    ...stored('buoy-b', 'pixel-20', 50),
    ...stored('buoy-c', 'pixel-21', (options.storedB ?? 80) - 50),
  ]);
  await store.appendQuarantine([
    {
      source: 'nats',
      reason: 'schema_violation',
      detail: 'unit',
      payload: '{}',
      quarantinedAt: new Date(now).toISOString(),
    },
    {
      source: 'nats',
      reason: 'schema_violation',
      detail: 'unit',
      payload: '{}',
      quarantinedAt: new Date(now).toISOString(),
    },
    {
      source: 'nats',
      reason: 'malformed_json',
      detail: 'eof',
      payload: '{',
      quarantinedAt: new Date(now).toISOString(),
    },
  ]);
  await store.close();
  await writeFile(
    join(dir, 'risk-map.geojson'),
    JSON.stringify({
      type: 'FeatureCollection',
      date: '2016-03-01',
      features: [
        {
          type: 'Feature',
          geometry: { type: 'Point', coordinates: [145.5, -14.7] },
          properties: {
            site_id: 'pixel-10',
            risk: 0.81,
            band: 'severe',
            variant: 'champion',
            model_version: '2',
            degraded: false,
          },
        },
        {
          type: 'Feature',
          geometry: { type: 'Point', coordinates: [147.8, -18.8] },
          properties: { site_id: 'pixel-20', risk: 0.12, band: 'low' },
        },
      ],
    }),
  );
  await mkdir(join(dir, 'slack'));
  await writeFile(
    join(dir, 'slack/messages.jsonl'),
    lines([
      {
        received_at: '2026-01-01T00:03:02Z',
        body: { text: 'Drift: dhw PSI 0.87 > 0.3, retrain requested' },
      },
    ]),
  );
  // The stack's receiver (Alertmanager posts there) records in its own shape.
  await writeFile(
    join(dir, 'slack/stack-receiver.jsonl'),
    lines([
      {
        receivedAt: '2026-01-01T00:06:00Z',
        path: '/services/T0/B0/x',
        payload: { attachments: [{ title: '[FIRING:1] FeatureDrift (dhw)' }] },
      },
    ]),
  );
  await writeFile(
    join(dir, 'prometheus-alerts.json'),
    JSON.stringify({
      status: 'success',
      data: {
        alerts: [
          { labels: { alertname: 'FeatureDrift', feature: 'dhw' }, state: 'firing' },
          { labels: { alertname: 'EdgeBacklogAgeHigh', agent_id: 'gw-b' }, state: 'pending' },
        ],
      },
    }),
  );
  return dir;
}

const dirs: string[] = [];
afterEach(async () => {
  for (const dir of dirs.splice(0)) await rm(dir, { recursive: true, force: true });
});

describe('report - from a state dir with known numbers', () => {
  it('shows every number and picture of the run', async () => {
    const dir = await syntheticStateDir();
    dirs.push(dir);
    const data = await writeReport({ stateDir: dir, root: ROOT, out: join(dir, 'report.html') });
    const html = await readFile(join(dir, 'report.html'), 'utf8');

    expect(html).not.toMatch(/(src|href)="https?:/);
    expect(html).not.toContain('<script');
    expect(html).not.toContain('data-missing');

    // Counts: 120 + 80 sent, 200 stored by the real writer, 3 quarantined.
    expect(data.counts.ok && data.counts.value).toMatchObject({
      sent: 200,
      stored: 200,
      sentEqualsStored: true,
      duplicatesStored: 0,
    });
    expect(html).toContain('sent 200 == stored 200: <b>PASS</b>');
    expect(html).toMatch(/<td>schema_violation<\/td><td>2<\/td>/);
    expect(html).toMatch(/<td>malformed_json<\/td><td>1<\/td>/);
    expect(html).toContain('applied 200, duplicate 0, late 0, quarantined 3');
    expect(html).toMatch(
      /<td>gw-a<\/td><td>pixel-10<\/td><td>buoy-a<\/td><td>120<\/td><td>nats 120, mqtt 120<\/td><td>0<\/td><td>0<\/td><td>0<\/td><td>120<\/td><td>v2<\/td><td>119<\/td>/,
    );

    // Risk map: the two sites drawn over the shipped reef cells, coloured by band.
    const map = /<svg[^>]*class="risk-map"[\s\S]*?<\/svg>/.exec(html)?.[0] ?? '';
    expect(map).toContain('pixel-10 0.81');
    expect(map).toContain('fill="#d62728"');
    expect(html).toContain('<td>severe</td><td>champion v2</td>');
    expect(map).toContain('pixel-20 0.12');
    expect(data.riskMap.ok && data.riskMap.value.reefCells.length).toBeGreaterThan(500);

    // Skill: model F1 beats CRW on gbr-1998 only; gcbd-2005 has no F1 to compare.
    expect(html).toContain('<b class="wins">1 of 2</b>');
    expect(html).toMatch(
      /<td>gbr-1998<\/td><td>100<\/td><td>30<\/td><td>0\.620<\/td><td>0\.410<\/td>/,
    );
    expect(html).toContain('<title>gbr-2002 CRW alert F1: 0.550</title>');

    // Drift: 3 checks of dhw, one above 0.3, drawn as a line with the threshold.
    expect(html).toContain(
      '3 PSI checks from the drift events, <b class="drifted">1</b> above the threshold 0.3',
    );
    expect(html).toContain('dhw (max 0.87)');
    expect(html).toContain('threshold 0.3');

    // Canary decision with its gates, lineage with the same trace id and MLflow run.
    expect(html).toContain('canary-promote · reefguard-bleaching-risk v2 <b>applied</b>');
    expect(html).toContain('challenger 4.1 ms vs champion 4.3 ms');
    expect(html).toContain('<code>run-abc123</code>');
    expect(html.split(TRACE).length - 1).toBeGreaterThanOrEqual(4);
    const lineage = data.lineage.ok ? data.lineage.value : null;
    expect(lineage?.models.map((m) => [m.version, m.aliases, m.traceIds])).toEqual([
      ['1', [], []],
      ['2', ['champion'], [TRACE]],
    ]);
    expect(lineage?.trainingSets[0]?.dataVersion).toBe(DATA_VERSION);

    expect(html).toContain('Drift: dhw PSI 0.87 &gt; 0.3, retrain requested');
    expect(html).toMatch(
      /00:06:00Z<\/td><td>\[FIRING:1\] FeatureDrift \(dhw\)<\/td><td>Alertmanager \(stack-receiver\.jsonl\)/,
    );
    expect(html).toContain('<td>FeatureDrift</td><td>firing</td><td>feature=dhw</td>');
    expect(summarizeReport(data)).toContain(
      'alerts: 2 Slack messages (1 from Alertmanager: [FIRING:1] FeatureDrift (dhw)), 1 Prometheus alerts firing at the end',
    );
    expect(summarizeReport(data)).toContain(
      'readings: sent 200, stored 200, quarantined 3: sent == stored PASS',
    );
  });

  it('fails the check when a reading sent was not stored', async () => {
    const dir = await syntheticStateDir({ storedB: 79 });
    dirs.push(dir);
    const data = await gatherReport({ stateDir: dir, root: ROOT });
    expect(data.counts.ok && data.counts.value).toMatchObject({
      sent: 200,
      stored: 199,
      sentEqualsStored: false,
    });
    expect(renderReport(data)).toContain('sent 200 != stored 199: <b>FAIL</b>');
  });

  it('says what a later training set changed against the first: nothing when the data version is the same, else rows and events', async () => {
    const dir = await syntheticStateDir();
    dirs.push(dir);
    const first = JSON.parse(
      await readFile(join(ROOT, 'report/test/fixtures/training-set-manifest.json'), 'utf8'),
    ) as {
      created_at: string;
      data_version: string;
      rows: number;
      positives: number;
      events: { event: string; rows: number; positives: number }[];
    };
    const later = (name: string, manifest: object) =>
      mkdir(join(dir, name)).then(() =>
        writeFile(join(dir, name, 'manifest.json'), JSON.stringify(manifest)),
      );
    await later('training-set-after-season', { ...first, created_at: '2026-11-29T05:00:00.000Z' });
    const same = await gatherReport({ stateDir: dir, root: ROOT });
    expect(renderReport(same)).toContain(
      `training-set-after-season: the same data as training-set (data version ${first.data_version.slice(0, 12)}, 300 rows, ${first.events.length} labelled events, the latest in 2002): nothing labelled was added`,
    );
    await rm(join(dir, 'training-set-after-season'), { recursive: true });
    await later('training-set-2017', {
      ...first,
      data_version: 'b'.repeat(64),
      created_at: '2026-11-29T06:00:00.000Z',
      rows: 340,
      positives: 97,
      events: [...first.events, { event: 'gbr-2017', rows: 40, positives: 7 }],
    });
    const changed = await gatherReport({ stateDir: dir, root: ROOT });
    expect(renderReport(changed)).toContain(
      'training-set-2017: data version bbbbbbbbbbbb instead of aaaaaaaaaaaa: +40 rows, +7 positives, new events gbr-2017',
    );
  });

  it('recomputes drift from the offline store when no drift event was kept', async () => {
    const dir = await syntheticStateDir();
    dirs.push(dir);
    await rm(join(dir, 'events/drift.jsonl'));
    const store = await openOfflineStore(join(dir, 'stream-0.duckdb'));
    // Two sites: for 5 days one each side of the card's dhw split (2.35), as in training;
    // then 15 days of both at 12 degC-weeks, far beyond anything the card saw.
    const day0 = Date.UTC(2016, 1, 1) / 86_400_000;
    await store.appendFeatures(
      Array.from({ length: 20 }, (_, i) =>
        ['pixel-10', 'pixel-20'].map((siteId, s) => ({
          siteId,
          day: day0 + i,
          ingestedMs: Date.now(),
          values: { dhw: i < 5 ? [1, 4][s] : 12 },
        })),
      ).flat(),
    );
    await store.close();
    const data = await gatherReport({ stateDir: dir, root: ROOT });
    expect(data.drift.ok).toBe(true);
    if (!data.drift.ok) return;
    expect(data.drift.value.source).toBe('offline store');
    const dhw = data.drift.value.series.find((s) => s.name === 'dhw');
    expect(dhw?.points).toHaveLength(20);
    expect(dhw?.points[4]?.y).toBeCloseTo(0, 6);
    expect(dhw?.points.at(-1)?.y).toBeGreaterThan(0.3);
  });

  it('says why each missing part is missing instead of failing', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'report-empty-'));
    dirs.push(dir);
    await writeCard(dir, '1');
    await mkdir(join(dir, 'models', MODEL, 'bad'), { recursive: true });
    await writeFile(join(dir, 'models', MODEL, 'bad', 'model-card.json'), '{"schema_version":1}');
    const data = await writeReport({ stateDir: dir, root: ROOT, out: join(dir, 'r.html') });
    const html = await readFile(join(dir, 'r.html'), 'utf8');
    expect(data.skill.ok).toBe(false);
    expect(html).toMatch(
      /data-missing="skill">Not available: .*bad\/model-card\.json breaks the model-card contract/,
    );
    expect(html).toMatch(
      /data-missing="risk-map">Not available: no risk map at .*risk-map\.geojson/,
    );
    expect(html).toContain(
      'data-missing="counts">Not available: no edge-agent counters in counters/',
    );
    expect(html).toMatch(
      /data-missing="drift">Not available: no drift event recorded .*no stream-&lt;instance&gt;\.duckdb/,
    );
    expect(html).toContain(
      'data-missing="rollout">Not available: no promotion, canary or rollback decision',
    );
    expect(html).toContain(
      'data-missing="alerts">Not available: no Slack message reached a local receiver',
    );
  });

  it('cli - refuses a state dir that does not exist and writes the file otherwise', async () => {
    expect(await run(['--state-dir', join(tmpdir(), 'no-such-reefguard-state')])).toBe(2);
    const dir = await syntheticStateDir();
    dirs.push(dir);
    expect(await run(['--state-dir', dir, '--out', join(dir, 'out/report.html')])).toBe(0);
    expect(await readFile(join(dir, 'out/report.html'), 'utf8')).toContain(
      '<h1>ReefGuard run report</h1>',
    );
    expect(await run(['--state-dir', dir, '--mlflow', 'file:///tmp/mlruns'])).toBe(2);
  });
});
