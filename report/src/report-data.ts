import { join } from 'node:path';
import { DuckDBInstance } from '@duckdb/node-api';
import { computePsi, DEFAULT_PSI_THRESHOLD, psiBin } from '@reefguard/core';
import { type CounterSnapshot, readCounterSnapshots, sumSamples } from './counters.js';
import { type RecordedEvent, readEvents } from './event-log.js';
import {
  type MlflowVersion,
  type ModelStore,
  readMlflowVersions,
  readModelStore,
  readTrainingSets,
  type TrainingSetInfo,
} from './model-store.js';
import { type OfflineSummary, readOfflineStore } from './offline-store.js';
import {
  loadSection,
  missing,
  present,
  readJsonFile,
  readJsonLines,
  type Section,
} from './sections.js';
import type { LineSeries, MapSite } from './svg-charts.js';

/**
 * Everything the report shows, gathered from a state dir. Each part is a {@link Section}:
 * its numbers, or the reason it could not be built.
 */
export interface ReportData {
  stateDir: string;
  generatedAt: string;
  riskMap: Section<RiskMapPart>;
  skill: Section<SkillPart>;
  drift: Section<DriftPart>;
  rollout: Section<RolloutPart>;
  lineage: Section<LineagePart>;
  counts: Section<CountsPart>;
  alerts: Section<AlertsPart>;
}

export interface RiskMapPart {
  date: string | null;
  sites: MapSite[];
  reefCells: { lon: number; lat: number }[];
  cellDeg: number;
}

export interface EventSkill {
  event: string;
  n: number;
  positives: number;
  model: { f1: number | null; auroc: number | null; brier: number | null };
  crw: { f1: number | null; auroc: number | null; brier: number | null };
}

export interface SkillPart {
  versions: {
    name: string;
    version: string;
    aliases: string[];
    events: EventSkill[];
    overall: EventSkill;
    /** Held-out events where the model's F1 beats the CRW alert's. */
    wins: number;
    compared: number;
  }[];
}

export interface DriftPart {
  source: 'drift events' | 'offline store';
  threshold: number;
  checks: number;
  driftedChecks: number;
  series: LineSeries[];
}

export interface Decision {
  at: string;
  stage: string;
  modelName: string;
  version: string | null;
  previous: string | null;
  applied: boolean;
  gates: { gate: string; passed: boolean; detail: string }[];
  canary: Record<string, unknown> | null;
  reason: string;
  actor: string;
  traceId: string;
  source: 'audit log' | 'decision event';
}

export interface RolloutPart {
  decisions: Decision[];
  announcements: {
    at: string;
    version: string;
    alias: string;
    decision: string;
    traceId: string;
  }[];
}

export interface LineagePart {
  trainingSets: TrainingSetInfo[];
  models: {
    name: string;
    version: string;
    dataVersion: string;
    codeVersion: string;
    createdAt: string;
    aliases: string[];
    mlflow: MlflowVersion | null;
    traceIds: string[];
  }[];
  mlflowNote: string | null;
  retrains: {
    requestId: string;
    traceId: string;
    reason: string;
    features: string[];
    status: string | null;
    modelVersion: string | null;
    mlflowRunId: string | null;
  }[];
}

export interface AgentCounts {
  id: string;
  siteId: string;
  stationId: string;
  sent: number;
  acked: Record<string, number>;
  queueDepth: number;
  dropped: number;
  rejected: number;
  modelVersion: string | null;
  stored: number | null;
}

export interface CountsPart {
  agents: AgentCounts[];
  sent: number;
  received: Record<string, number> | null;
  stored: number;
  storedAll: number;
  duplicatesStored: number;
  late: number;
  quarantined: { source: string; reason: string; count: number }[];
  sentEqualsStored: boolean;
  offlineNote: string | null;
}

export interface AlertsPart {
  messages: { at: string; text: string }[];
}

export interface GatherOptions {
  stateDir: string;
  /** Workspace root: the shipped reef pixels for the map's background. */
  root: string;
  mlflowUrl?: string;
  now?: () => Date;
}

export async function gatherReport(options: GatherOptions): Promise<ReportData> {
  const { stateDir } = options;
  const store = await loadSection(async () => present(await readModelStore(stateDir)));
  const events = await loadSection(async () =>
    present({
      drift: await readEvents(stateDir, 'drift'),
      retrain: await readEvents(stateDir, 'retrain'),
      models: await readEvents(stateDir, 'models'),
    }),
  );
  const cardFeatures = store.ok
    ? [...new Set(store.value.models.flatMap((m) => m.card.features.map((f) => f.name)))]
    : [];
  const offline = await loadSection(async () => {
    const summary = await readOfflineStore(stateDir, cardFeatures);
    return summary
      ? present(summary)
      : missing<OfflineSummary>(`no stream-<instance>.duckdb in ${stateDir}: no processor ran`);
  });
  const snapshots = await loadSection(async () => present(await readCounterSnapshots(stateDir)));
  return {
    stateDir,
    generatedAt: (options.now?.() ?? new Date()).toISOString(),
    riskMap: await loadSection(() => riskMapPart(stateDir, options.root)),
    skill: await loadSection(async () => skillPart(store)),
    drift: await loadSection(async () => driftPart(store, events, offline)),
    rollout: await loadSection(() => rolloutPart(stateDir, events)),
    lineage: await loadSection(() => lineagePart(stateDir, store, events, options.mlflowUrl)),
    counts: await loadSection(async () => countsPart(snapshots, offline)),
    alerts: await loadSection(() => alertsPart(stateDir)),
  };
}

/** Reef pixels binned to this many degrees for the map's background. */
const REEF_CELL_DEG = 0.1;

async function riskMapPart(stateDir: string, root: string): Promise<Section<RiskMapPart>> {
  const path = join(stateDir, 'risk-map.geojson');
  const geojson = (await readJsonFile(path)) as
    | {
        date?: string;
        features?: {
          geometry?: { coordinates?: number[] };
          properties?: Record<string, unknown>;
        }[];
      }
    | undefined;
  if (geojson === undefined) {
    return missing(`no risk map at ${path}: serving was not asked for /v1/risk-map`);
  }
  if (!Array.isArray(geojson.features))
    return missing(`${path} is not a GeoJSON FeatureCollection`);
  const sites: MapSite[] = geojson.features.map((f, i) => {
    const [lon, lat] = f.geometry?.coordinates ?? [];
    const p = f.properties ?? {};
    if (typeof lon !== 'number' || typeof lat !== 'number') {
      throw new Error(`${path}: feature ${i} has no point coordinates`);
    }
    return {
      lon,
      lat,
      label: String(p.site_id ?? `site ${i + 1}`),
      band: typeof p.band === 'string' ? p.band : null,
      risk: typeof p.risk === 'number' ? p.risk : null,
    };
  });
  if (sites.length === 0) {
    return missing(`${path} has no site with an answer: no features reached the online store`);
  }
  return present({
    date: geojson.date ?? null,
    sites,
    reefCells: await reefCells(root).catch(() => []),
    cellDeg: REEF_CELL_DEG,
  });
}

async function reefCells(root: string): Promise<{ lon: number; lat: number }[]> {
  const instance = await DuckDBInstance.create(':memory:');
  const conn = await instance.connect();
  try {
    const file = join(root, 'data/sample/gbr_environmental.parquet').replaceAll("'", "''");
    const reader = await conn.runAndReadAll(
      `SELECT DISTINCT round(lon / ${REEF_CELL_DEG}) * ${REEF_CELL_DEG} AS lon,
         round(lat / ${REEF_CELL_DEG}) * ${REEF_CELL_DEG} AS lat
       FROM read_parquet('${file}') WHERE lat IS NOT NULL AND lon IS NOT NULL`,
    );
    return reader.getRowObjectsJson().map((r) => ({ lon: Number(r.lon), lat: Number(r.lat) }));
  } finally {
    conn.closeSync();
    instance.closeSync();
  }
}

function skillPart(store: Section<ModelStore>): Section<SkillPart> {
  if (!store.ok) return missing(store.reason);
  if (store.value.models.length === 0) return missing('no model card in the model store (models/)');
  return present({
    versions: store.value.models.map(({ name, version, card }) => {
      const aliases = Object.entries(store.value.aliases[name] ?? {})
        .filter(([, v]) => v === version)
        .map(([alias]) => alias);
      const events: EventSkill[] = card.metrics.held_out_events.map((e) => ({
        event: e.event,
        n: e.model.n,
        positives: e.model.positives,
        model: { f1: e.model.f1, auroc: e.model.auroc, brier: e.model.brier },
        crw: { f1: e.crw_baseline.f1, auroc: e.crw_baseline.auroc, brier: e.crw_baseline.brier },
      }));
      const { model, crw_baseline: crw } = card.metrics.overall;
      const compared = events.filter((e) => e.model.f1 !== null && e.crw.f1 !== null);
      return {
        name,
        version,
        aliases,
        events,
        overall: {
          event: 'all held-out rows',
          n: model.n,
          positives: model.positives,
          model: { f1: model.f1, auroc: model.auroc, brier: model.brier },
          crw: { f1: crw.f1, auroc: crw.auroc, brier: crw.brier },
        },
        wins: compared.filter((e) => (e.model.f1 as number) > (e.crw.f1 as number)).length,
        compared: compared.length,
      };
    }),
  });
}

interface EventFiles {
  drift: RecordedEvent[];
  retrain: RecordedEvent[];
  models: RecordedEvent[];
}

const asRecord = (v: unknown) => (v && typeof v === 'object' ? (v as Record<string, unknown>) : {});
const str = (v: unknown) => (typeof v === 'string' ? v : null);

function driftPart(
  store: Section<ModelStore>,
  events: Section<EventFiles>,
  offline: Section<OfflineSummary>,
): Section<DriftPart> {
  const recorded = events.ok ? events.value.drift.map((e) => asRecord(e.data)) : [];
  const checks = recorded.filter(
    (d) =>
      typeof d.feature === 'string' &&
      typeof d.psi === 'number' &&
      typeof d.window_end === 'string',
  );
  if (checks.length > 0) {
    const byFeature = new Map<string, { t: number; y: number }[]>();
    for (const d of checks) {
      const points = byFeature.get(d.feature as string) ?? [];
      points.push({ t: Date.parse(d.window_end as string), y: d.psi as number });
      byFeature.set(d.feature as string, points);
    }
    return present({
      source: 'drift events',
      threshold:
        typeof checks[0]?.threshold === 'number'
          ? (checks[0].threshold as number)
          : DEFAULT_PSI_THRESHOLD,
      checks: checks.length,
      driftedChecks: checks.filter((d) => d.drifted === true).length,
      series: [...byFeature].map(([name, points]) => ({
        name,
        points: points.sort((a, b) => a.t - b.t),
      })),
    });
  }
  // No drift event was kept: recompute PSI per event day from the stored daily features.
  const why = events.ok ? 'no drift event recorded (events/drift.jsonl)' : events.reason;
  if (!offline.ok) return missing(`${why}; ${offline.reason}`);
  if (!store.ok || store.value.models.length === 0) {
    return missing(`${why}, and no model card to take PSI reference bins from`);
  }
  const champion = championCard(store.value);
  const days = [...new Set(offline.value.dailyFeatures.map((r) => r.day))].sort();
  if (days.length === 0) return missing(`${why}, and no daily features in the offline store`);
  const series: LineSeries[] = [];
  let checksDone = 0;
  let drifted = 0;
  for (const feature of champion.features) {
    const points: { t: number; y: number }[] = [];
    for (const [i, day] of days.entries()) {
      // The window: every site's value over the last 14 event days.
      const from = days[Math.max(0, i - 13)] as string;
      const counts = new Float64Array(feature.psi_reference.shares.length);
      let n = 0;
      for (const row of offline.value.dailyFeatures) {
        const v = row.values[feature.name];
        if (row.day < from || row.day > day || v === null || v === undefined) continue;
        const bin = psiBin(feature.psi_reference.edges, v);
        counts[bin] = (counts[bin] as number) + 1;
        n += 1;
      }
      if (n === 0) continue;
      const psi = computePsi(feature.psi_reference, counts);
      points.push({ t: Date.parse(`${day}T00:00:00Z`), y: psi });
      checksDone += 1;
      if (psi > DEFAULT_PSI_THRESHOLD) drifted += 1;
    }
    if (points.length > 0) series.push({ name: feature.name, points });
  }
  if (series.length === 0) return missing(`${why}, and no stored feature is in the model card`);
  return present({
    source: 'offline store',
    threshold: DEFAULT_PSI_THRESHOLD,
    checks: checksDone,
    driftedChecks: drifted,
    series,
  });
}

function championCard(store: ModelStore) {
  const first = store.models[0] as ModelStore['models'][number];
  const championVersion = store.aliases[first.name]?.champion;
  return (store.models.find((m) => m.name === first.name && m.version === championVersion) ?? first)
    .card;
}

async function rolloutPart(
  stateDir: string,
  events: Section<EventFiles>,
): Promise<Section<RolloutPart>> {
  const audit = (await readJsonLines(join(stateDir, 'serving', 'audit.jsonl'))).map(asRecord);
  const modelEvents = events.ok ? events.value.models : [];
  const decisions: Decision[] = [];
  const seen = new Set<string>();
  const add = (d: Record<string, unknown>, source: Decision['source']) => {
    const decision: Decision = {
      at: str(d.decided_at) ?? str(d.at) ?? '',
      stage: str(d.stage) ?? str(d.action) ?? 'unknown',
      modelName: str(d.model_name) ?? str(d.name) ?? '',
      version: str(d.version),
      previous: str(d.previous),
      applied: d.applied === true,
      gates: Array.isArray(d.gates)
        ? d.gates.map((g) => {
            const gate = asRecord(g);
            return {
              gate: String(gate.gate ?? ''),
              passed: gate.passed === true,
              detail: String(gate.detail ?? ''),
            };
          })
        : [],
      canary: d.canary && typeof d.canary === 'object' ? asRecord(d.canary) : null,
      reason: str(d.reason) ?? '',
      actor: str(d.actor) ?? '',
      traceId: str(d.trace_id) ?? '',
      source,
    };
    const key = `${decision.traceId}|${decision.version}|${decision.applied}|${decision.at}`;
    if (seen.has(key)) return;
    seen.add(key);
    decisions.push(decision);
  };
  for (const e of modelEvents) {
    if (e.subject.endsWith('.decisions')) add(asRecord(e.data), 'decision event');
  }
  for (const d of audit) add(d, 'audit log');
  decisions.sort((a, b) => a.at.localeCompare(b.at));
  const announcements = modelEvents
    .filter((e) => e.subject.endsWith('.announcements'))
    .map((e) => {
      const a = asRecord(e.data);
      return {
        at: str(a.announced_at) ?? e.received_at,
        version: str(a.version) ?? '',
        alias: str(a.alias) ?? '',
        decision: str(a.decision) ?? '',
        traceId: str(a.trace_id) ?? '',
      };
    });
  if (decisions.length === 0 && announcements.length === 0) {
    return missing(
      'no promotion, canary or rollback decision: serving/audit.jsonl and events/models.jsonl are empty',
    );
  }
  return present({ decisions, announcements });
}

async function lineagePart(
  stateDir: string,
  store: Section<ModelStore>,
  events: Section<EventFiles>,
  mlflowUrl: string | undefined,
): Promise<Section<LineagePart>> {
  if (!store.ok) return missing(store.reason);
  const trainingSets = await readTrainingSets(stateDir);
  const retrainEvents = events.ok ? events.value.retrain : [];
  const requests = retrainEvents
    .filter((e) => e.subject.endsWith('.requests'))
    .map((e) => asRecord(e.data));
  const results = retrainEvents
    .filter((e) => e.subject.endsWith('.results'))
    .map((e) => asRecord(e.data));
  const decisionEvents = events.ok ? events.value.models.map((e) => asRecord(e.data)) : [];
  const audit = (await readJsonLines(join(stateDir, 'serving', 'audit.jsonl'))).map(asRecord);
  let mlflow: MlflowVersion[] = [];
  let mlflowNote: string | null = null;
  if (mlflowUrl) {
    const names = [...new Set(store.value.models.map((m) => m.name))];
    try {
      mlflow = (await Promise.all(names.map((n) => readMlflowVersions(mlflowUrl, n)))).flat();
    } catch (error) {
      mlflowNote = `MLflow registry not read: ${(error as Error).message}`;
    }
  } else {
    mlflowNote =
      'no MLflow tracking server given (--mlflow URL): run ids from retrain results only';
  }
  const runIdFromResults = (version: string) =>
    str(
      results.find((r) => r.model_version === version || r.local_version === version)
        ?.mlflow_run_id,
    );
  const models = store.value.models.map(({ name, version, card }) => {
    const traceIds = new Set<string>();
    for (const d of [...decisionEvents, ...audit, ...results]) {
      const v = d.version ?? d.model_version ?? d.local_version;
      const trace = str(d.trace_id);
      if (v === version && trace) traceIds.add(trace);
    }
    const registered = mlflow.find((m) => m.name === name && m.version === version) ?? null;
    return {
      name,
      version,
      dataVersion: card.data_version,
      codeVersion: card.code_version,
      createdAt: card.created_at,
      aliases: Object.entries(store.value.aliases[name] ?? {})
        .filter(([, v]) => v === version)
        .map(([alias]) => alias),
      mlflow:
        registered ??
        (runIdFromResults(version)
          ? {
              name,
              version,
              runId: runIdFromResults(version),
              source: '',
              aliases: [],
              createdAt: '',
            }
          : null),
      traceIds: [...traceIds],
    };
  });
  const retrains = requests.map((r) => {
    const result = results.find((x) => x.request_id === r.id);
    return {
      requestId: String(r.id ?? ''),
      traceId: String(r.trace_id ?? ''),
      reason: String(r.reason ?? ''),
      features: Array.isArray(r.features) ? r.features.map(String) : [],
      status: str(result?.status),
      modelVersion: str(result?.model_version),
      mlflowRunId: str(result?.mlflow_run_id),
    };
  });
  if (models.length === 0 && trainingSets.length === 0) {
    return missing('no training set manifest and no model card in the state dir');
  }
  return present({ trainingSets, models, mlflowNote, retrains });
}

function countsPart(
  snapshots: Section<CounterSnapshot[]>,
  offline: Section<OfflineSummary>,
): Section<CountsPart> {
  if (!snapshots.ok) return missing(snapshots.reason);
  const edge = snapshots.value.filter((s) => s.component === 'edge-agent');
  if (edge.length === 0) {
    return missing('no edge-agent counters in counters/: no gateway sent readings in this run');
  }
  const stations = offline.ok ? offline.value.stations : [];
  const agents: AgentCounts[] = edge.map((s) => {
    const brokers = [
      ...new Set(
        s.samples
          .filter((x) => x.name === 'reefguard_edge_published_total')
          .map((x) => x.labels.broker ?? ''),
      ),
    ];
    const model = s.samples.find((x) => x.name === 'reefguard_edge_model_info' && x.value === 1);
    const stored = stations.find((st) => st.stationId === s.station_id);
    return {
      id: s.id,
      siteId: s.site_id ?? '',
      stationId: s.station_id ?? '',
      sent: sumSamples(s.samples, 'reefguard_edge_readings_enqueued_total'),
      acked: Object.fromEntries(
        brokers.map((b) => [
          b,
          sumSamples(s.samples, 'reefguard_edge_published_total', { broker: b }),
        ]),
      ),
      queueDepth: sumSamples(s.samples, 'reefguard_edge_queue_depth'),
      dropped: sumSamples(s.samples, 'reefguard_edge_queue_dropped_total'),
      rejected: sumSamples(s.samples, 'reefguard_edge_readings_rejected_total'),
      modelVersion: model?.labels.version ?? null,
      stored: offline.ok ? (stored?.rows ?? 0) : null,
    };
  });
  const processors = snapshots.value.filter((s) => s.component === 'stream-processor');
  const received =
    processors.length === 0
      ? null
      : Object.fromEntries(
          ['applied', 'duplicate', 'late', 'quarantined'].map((outcome) => [
            outcome,
            processors.reduce(
              (sum, p) =>
                sum + sumSamples(p.samples, 'reefguard_stream_readings_total', { outcome }),
              0,
            ),
          ]),
        );
  const sent = agents.reduce((sum, a) => sum + a.sent, 0);
  const stored = agents.reduce((sum, a) => sum + (a.stored ?? 0), 0);
  const agentStations = new Set(agents.map((a) => a.stationId));
  const duplicatesStored = stations
    .filter((st) => agentStations.has(st.stationId))
    .reduce((sum, st) => sum + (st.rows - st.ids), 0);
  return present({
    agents,
    sent,
    received,
    stored,
    storedAll: stations.reduce((sum, st) => sum + st.rows, 0),
    duplicatesStored,
    late: offline.ok ? offline.value.late : 0,
    quarantined: offline.ok ? offline.value.quarantine : [],
    sentEqualsStored: offline.ok && sent === stored && duplicatesStored === 0,
    offlineNote: offline.ok ? null : offline.reason,
  });
}

async function alertsPart(stateDir: string): Promise<Section<AlertsPart>> {
  const path = join(stateDir, 'slack', 'messages.jsonl');
  const lines = (await readJsonLines(path)).map(asRecord);
  if (lines.length === 0) return missing(`no Slack message reached the local receiver (${path})`);
  return present({
    messages: lines.map((l) => {
      const body = asRecord(l.body);
      return { at: str(l.received_at) ?? '', text: str(body.text) ?? JSON.stringify(l.body) };
    }),
  });
}
