import { join } from 'node:path';
import {
  type MlflowVersion,
  type ModelStore,
  readMlflowVersions,
  readTrainingSets,
} from './model-store.js';
import {
  asRecord,
  type Decision,
  type EventFiles,
  type LineagePart,
  type RolloutPart,
  str,
} from './report-data.js';
import { missing, present, readJsonLines, type Section } from './sections.js';

export async function rolloutPart(
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

export async function lineagePart(
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
