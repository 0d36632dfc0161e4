import { computePsi, DEFAULT_PSI_THRESHOLD, psiBin } from '@reefguard/core';
import type { ModelStore } from './model-store.js';
import type { OfflineSummary } from './offline-store.js';
import { asRecord, type DriftPart, type EventFiles } from './report-data.js';
import { missing, present, type Section } from './sections.js';
import type { LineSeries } from './svg-charts.js';

export function driftPart(
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
