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
import {
  listDir,
  missing,
  present,
  readJsonFile,
  readJsonLines,
  type Section,
} from './sections.js';

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
    const carried = s.station_ids ?? (s.station_id ? [s.station_id] : []);
    const own = stations.filter((st) => carried.includes(st.stationId));
    return {
      id: s.id,
      siteId: s.site_id ?? '',
      stationIds: carried,
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
      stored: offline.ok ? own.reduce((sum, st) => sum + st.rows, 0) : null,
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
  const agentStations = new Set(agents.flatMap((a) => a.stationIds));
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

/**
 * Slack messages from every record under `slack/`: the demo's receiver writes
 * `{received_at, body}`, the stack's (Alertmanager posts there too) `{receivedAt, payload}`.
 * Plus the Prometheus alerts active at the end of the run, when they were kept.
 */
export async function alertsPart(stateDir: string): Promise<Section<AlertsPart>> {
  const dir = join(stateDir, 'slack');
  const messages: AlertsPart['messages'] = [];
  for (const name of (await listDir(dir)).filter((n) => n.endsWith('.jsonl'))) {
    for (const line of (await readJsonLines(join(dir, name))).map(asRecord)) {
      const body = asRecord(line.body ?? line.payload);
      const attachments = Array.isArray(body.attachments) ? body.attachments.map(asRecord) : [];
      const text = [str(body.text), ...attachments.map((a) => str(a.title) ?? str(a.text))]
        .filter((t): t is string => t !== null && t !== '')
        .join(' | ');
      messages.push({
        at: str(line.received_at) ?? str(line.receivedAt) ?? '',
        text: text || JSON.stringify(body),
        // Alertmanager's Slack integration posts attachments; the processes post plain text.
        from: attachments.length > 0 ? `Alertmanager (${name})` : name,
      });
    }
  }
  messages.sort((a, b) => a.at.localeCompare(b.at));
  const alerts = asRecord(
    asRecord(await readJsonFile(join(stateDir, 'prometheus-alerts.json'))).data,
  );
  const firing = (Array.isArray(alerts.alerts) ? alerts.alerts.map(asRecord) : []).map((a) => ({
    name: String(asRecord(a.labels).alertname ?? ''),
    state: String(a.state ?? ''),
    labels: Object.entries(asRecord(a.labels))
      .filter(([k]) => k !== 'alertname')
      .map(([k, v]) => `${k}=${String(v)}`)
      .join(' '),
  }));
  if (messages.length === 0 && firing.length === 0) {
    return missing(
      `no Slack message reached a local receiver (${dir}) and no Prometheus alert was kept`,
    );
  }
  return present({ messages, prometheusAlerts: firing });
}
