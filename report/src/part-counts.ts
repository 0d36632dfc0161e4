import { join } from 'node:path';
import { type CounterSnapshot, sumSamples } from './counters.js';
import type { OfflineSummary } from './offline-store.js';
import {
  type AgentCounts,
  type AlertsPart,
  asRecord,
  type CountsPart,
  str,
} from './report-data.js';
import { missing, present, readJsonLines, type Section } from './sections.js';

export function countsPart(
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
      inferences: sumSamples(s.samples, 'reefguard_edge_inferences_total'),
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

export async function alertsPart(stateDir: string): Promise<Section<AlertsPart>> {
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
