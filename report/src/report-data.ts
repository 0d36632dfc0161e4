import { readCounterSnapshots } from './counters.js';
import { type RecordedEvent, readEvents } from './event-log.js';
import { type MlflowVersion, readModelStore, type TrainingSetInfo } from './model-store.js';
import { type OfflineSummary, readOfflineStore } from './offline-store.js';
import { alertsPart, countsPart } from './part-counts.js';
import { driftPart } from './part-drift.js';
import { riskMapPart, skillPart } from './part-map-skill.js';
import { lineagePart, rolloutPart } from './part-rollout.js';
import { loadSection, missing, present, type Section } from './sections.js';
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
  /** The buoy stations the gateway carries, its own first. */
  stationIds: string[];
  sent: number;
  acked: Record<string, number>;
  queueDepth: number;
  dropped: number;
  rejected: number;
  modelVersion: string | null;
  /** Local model runs on the gateway. */
  inferences: number;
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
  messages: { at: string; text: string; from: string }[];
  /** Prometheus alerts active when the run ended (pending or firing). */
  prometheusAlerts: { name: string; state: string; labels: string }[];
}

export interface GatherOptions {
  stateDir: string;
  /** Workspace root: the shipped reef pixels for the map's background. */
  root: string;
  mlflowUrl?: string;
  now?: () => Date;
}

export interface EventFiles {
  drift: RecordedEvent[];
  retrain: RecordedEvent[];
  models: RecordedEvent[];
}

export const asRecord = (v: unknown) =>
  v && typeof v === 'object' ? (v as Record<string, unknown>) : {};
export const str = (v: unknown) => (typeof v === 'string' ? v : null);

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
