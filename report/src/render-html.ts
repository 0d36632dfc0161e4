import { trainingSetChanges } from './model-store.js';
import type { ReportData } from './report-data.js';
import type { Section } from './sections.js';
import { drawGroupedBars, drawLineChart, drawRiskMap, escapeXml as esc } from './svg-charts.js';

const num = (v: number | null | undefined, digits = 3) =>
  v === null || v === undefined || Number.isNaN(v) ? '–' : v.toFixed(digits);
const count = (v: number) => v.toLocaleString('en-US');
const short = (id: string, n = 12) => (id.length > n ? `${id.slice(0, n)}…` : id);

function section<T>(
  id: string,
  title: string,
  part: Section<T>,
  body: (value: T) => string,
): string {
  const content = part.ok
    ? body(part.value)
    : `<p class="missing" data-missing="${id}">Not available: ${esc(part.reason)}</p>`;
  return `<section id="${id}"><h2>${esc(title)}</h2>${content}</section>`;
}

function table(headers: string[], rows: string[][]): string {
  return `<table><thead><tr>${headers.map((h) => `<th>${esc(h)}</th>`).join('')}</tr></thead><tbody>${rows
    .map((r) => `<tr>${r.map((c) => `<td>${c}</td>`).join('')}</tr>`)
    .join('')}</tbody></table>`;
}

/** The whole report as one HTML file: inline CSS and SVG, no script, no external URL. */
export function renderReport(data: ReportData): string {
  const parts = [
    section('risk-map', 'Risk map', data.riskMap, (m) =>
      [
        `<p>${m.sites.length} sites answered by serving${m.date ? ` for ${esc(m.date)}` : ''}; grey: the ${count(m.reefCells.length)} reef cells (${m.cellDeg}°) of the shipped GBR pixels.</p>`,
        drawRiskMap({ reefCells: m.reefCells, cellDeg: m.cellDeg, sites: m.sites }),
        table(
          ['site', 'lat', 'lon', 'risk', 'band', 'answered by', 'as of'],
          m.sites.map((s) => [
            esc(s.label),
            num(s.lat, 2),
            num(s.lon, 2),
            num(s.risk),
            esc(s.band ?? '–'),
            esc(s.answeredBy || '–'),
            esc(s.time ?? '–'),
          ]),
        ),
      ].join(''),
    ),
    section('skill', 'Skill against the NOAA CRW baseline, per held-out event', data.skill, (s) =>
      s.versions
        .map(
          (v) =>
            `<h3>${esc(v.name)} version ${esc(v.version)}${v.aliases.length ? ` (${esc(v.aliases.join(', '))})` : ''}</h3>
<p>F1 beats the CRW alert on <b class="wins">${v.wins} of ${v.compared}</b> held-out events. Overall (out of fold): F1 ${num(v.overall.model.f1)} vs CRW ${num(v.overall.crw.f1)}, AUROC ${num(v.overall.model.auroc)} vs ${num(v.overall.crw.auroc)}, Brier ${num(v.overall.model.brier)} vs ${num(v.overall.crw.brier)}.</p>
${drawGroupedBars({
  categories: v.events.map((e) => e.event),
  series: [
    { name: `model v${v.version} F1`, values: v.events.map((e) => e.model.f1) },
    { name: 'CRW alert F1', values: v.events.map((e) => e.crw.f1) },
  ],
  yMax: 1,
  yLabel: 'F1 on the held-out event',
})}
${table(
  [
    'event',
    'rows',
    'positives',
    'F1 model',
    'F1 CRW',
    'AUROC model',
    'AUROC CRW',
    'Brier model',
    'Brier CRW',
  ],
  v.events.map((e) => [
    esc(e.event),
    count(e.n),
    count(e.positives),
    num(e.model.f1),
    num(e.crw.f1),
    num(e.model.auroc),
    num(e.crw.auroc),
    num(e.model.brier),
    num(e.crw.brier),
  ]),
)}`,
        )
        .join(''),
    ),
    section('drift', 'Drift over time (PSI per feature)', data.drift, (d) =>
      [
        `<p>${count(d.checks)} PSI checks from the ${esc(d.source)}, <b class="drifted">${count(d.driftedChecks)}</b> above the threshold ${d.threshold}.${d.source === 'offline store' ? ' No drift event was recorded, so PSI was recomputed per event day from the stored daily features (all sites, 14-day window) against the champion card.' : ''}</p>`,
        drawLineChart({ series: d.series, yLabel: 'PSI', threshold: d.threshold }),
      ].join(''),
    ),
    section('rollout', 'Promotion, canary and rollback decisions', data.rollout, (r) =>
      [
        r.decisions
          .map((d) => {
            const canary = d.canary
              ? `<p>canary: <code>${esc(JSON.stringify(d.canary))}</code></p>`
              : '';
            return `<div class="decision"><h3>${esc(d.at)} · ${esc(d.stage)} · ${esc(d.modelName)} v${esc(d.version ?? '–')} ${d.applied ? '<b>applied</b>' : '<i>not applied</i>'}</h3>
<p>${esc(d.reason)} (by ${esc(d.actor)}, previous ${esc(d.previous ?? 'none')}, trace <code>${esc(d.traceId)}</code>, from the ${esc(d.source)})</p>${canary}
${
  d.gates.length
    ? table(
        ['gate', 'result', 'detail'],
        d.gates.map((g) => [esc(g.gate), g.passed ? 'pass' : '<b>fail</b>', esc(g.detail)]),
      )
    : ''
}</div>`;
          })
          .join(''),
        r.announcements.length
          ? `<h3>Announcements to edge agents</h3>${table(
              ['at', 'version', 'alias', 'decision', 'trace'],
              r.announcements.map((a) => [
                esc(a.at),
                esc(a.version),
                esc(a.alias),
                esc(a.decision),
                `<code>${esc(a.traceId)}</code>`,
              ]),
            )}`
          : '<p>No model announcement was recorded.</p>',
      ].join(''),
    ),
    section('lineage', 'Lineage: data versions → models → aliases', data.lineage, (l) =>
      [
        l.trainingSets.length
          ? table(
              ['training set', 'data version', 'created', 'rows', 'positives'],
              l.trainingSets.map((t) => [
                esc(t.dir),
                `<code>${esc(short(t.dataVersion))}</code>`,
                esc(t.createdAt),
                count(t.rows),
                count(t.positives),
              ]),
            )
          : '<p>No training-set manifest in the state dir.</p>',
        ...trainingSetChanges(l.trainingSets).map((line) => `<p>${esc(line)}</p>`),
        table(
          [
            'model',
            'data version',
            'code version',
            'created',
            'aliases',
            'MLflow run',
            'trace ids',
          ],
          l.models.map((m) => [
            `${esc(m.name)} v${esc(m.version)}`,
            `<code>${esc(short(m.dataVersion))}</code>${l.trainingSets.some((t) => t.dataVersion === m.dataVersion) ? '' : ' (set not kept)'}`,
            `<code>${esc(short(m.codeVersion, 10))}</code>`,
            esc(m.createdAt),
            esc(m.aliases.join(', ') || '–'),
            m.mlflow?.runId
              ? `<code>${esc(m.mlflow.runId)}</code>${m.mlflow.aliases.length ? ` (${esc(m.mlflow.aliases.join(', '))})` : ''}`
              : '–',
            m.traceIds.map((t) => `<code>${esc(t)}</code>`).join('<br>') || '–',
          ]),
        ),
        l.mlflowNote ? `<p class="note">${esc(l.mlflowNote)}</p>` : '',
        l.retrains.length
          ? `<h3>Retrain requests</h3>${table(
              ['request', 'trace', 'reason', 'features', 'result', 'model version', 'MLflow run'],
              l.retrains.map((r) => [
                `<code>${esc(short(r.requestId, 24))}</code>`,
                `<code>${esc(r.traceId)}</code>`,
                esc(r.reason),
                esc(r.features.join(', ')),
                esc(r.status ?? 'no result'),
                esc(r.modelVersion ?? '–'),
                esc(r.mlflowRunId ?? '–'),
              ]),
            )}`
          : '<p>No retrain request was recorded.</p>',
      ].join(''),
    ),
    section('counts', 'Readings: sent, received, stored, quarantined', data.counts, (c) =>
      [
        `<p class="check ${c.sentEqualsStored ? 'pass' : 'fail'}">sent ${count(c.sent)} ${c.sentEqualsStored ? '==' : '!='} stored ${count(c.stored)}: <b>${c.sentEqualsStored ? 'PASS' : 'FAIL'}</b>${c.duplicatesStored ? `, ${count(c.duplicatesStored)} duplicate rows stored` : ''}${c.offlineNote ? ` (${esc(c.offlineNote)})` : ''}</p>`,
        table(
          [
            'edge agent',
            'site',
            'stations',
            'sent',
            'broker acks (publishes, retries included)',
            'queue left',
            'dropped',
            'rejected',
            'stored',
            'model',
            'local inferences',
          ],
          c.agents.map((a) => [
            esc(a.id),
            esc(a.siteId),
            esc(a.stationIds.join(', ')),
            count(a.sent),
            esc(
              Object.entries(a.acked)
                .map(([b, n]) => `${b} ${count(n)}`)
                .join(', ') || '–',
            ),
            count(a.queueDepth),
            count(a.dropped),
            count(a.rejected),
            a.stored === null ? '–' : count(a.stored),
            esc(a.modelVersion ? `v${a.modelVersion}` : 'none'),
            count(a.inferences),
          ]),
        ),
        c.received
          ? `<p>received by the stream processor: ${Object.entries(c.received)
              .map(([k, v]) => `${esc(k)} ${count(v)}`)
              .join(', ')}</p>`
          : '<p>No stream-processor counters were kept.</p>',
        `<p>stored in DuckDB: ${count(c.storedAll)} raw readings in all, ${count(c.late)} beyond the allowed lateness.</p>`,
        c.quarantined.length
          ? table(
              ['quarantined: source', 'reason', 'count'],
              c.quarantined.map((q) => [esc(q.source), esc(q.reason), count(q.count)]),
            )
          : '<p>Quarantined: 0.</p>',
      ].join(''),
    ),
    section(
      'alerts',
      'Alerts: Slack messages received, Prometheus alerts at the end',
      data.alerts,
      (a) =>
        [
          a.messages.length
            ? table(
                ['received', 'text', 'receiver record'],
                a.messages.map((m) => [esc(m.at), esc(m.text), esc(m.from)]),
              )
            : '<p>No Slack message was received.</p>',
          a.prometheusAlerts.length
            ? table(
                ['Prometheus alert', 'state', 'labels'],
                a.prometheusAlerts.map((p) => [esc(p.name), esc(p.state), esc(p.labels)]),
              )
            : '<p>No Prometheus alert was active at the end (or none was kept).</p>',
        ].join(''),
    ),
  ];
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>ReefGuard run report</title>
<style>
body{font-family:sans-serif;max-width:1100px;margin:2em auto;padding:0 1em;color:#222}
table{border-collapse:collapse;margin:.5em 0;font-size:13px}th,td{border:1px solid #ccc;padding:2px 6px;text-align:left}
th{background:#f2f2f2}.missing{color:#a33;font-style:italic}.check.pass b{color:#080}.check.fail b{color:#c00}
code{font-size:12px}section{margin-bottom:2em}svg{max-width:100%;height:auto}.decision{border-left:3px solid #ccc;padding-left:.8em}
</style></head><body>
<h1>ReefGuard run report</h1>
<p>State dir <code>${esc(data.stateDir)}</code>, written ${esc(data.generatedAt)}.</p>
${parts.join('\n')}
</body></html>
`;
}

/** The key numbers, one line each, for the terminal. */
export function summarizeReport(data: ReportData): string[] {
  const lines: string[] = [];
  const say = <T>(name: string, part: Section<T>, text: (v: T) => string) =>
    lines.push(`${name}: ${part.ok ? text(part.value) : `not available (${part.reason})`}`);
  say(
    'risk map',
    data.riskMap,
    (m) =>
      `${m.sites.length} sites, ${m.sites.filter((s) => s.band === 'high' || s.band === 'severe').length} high or severe`,
  );
  say('skill', data.skill, (s) =>
    s.versions
      .map(
        (v) =>
          `v${v.version} beats CRW F1 on ${v.wins}/${v.compared} events (F1 ${num(v.overall.model.f1)} vs ${num(v.overall.crw.f1)})`,
      )
      .join('; '),
  );
  say(
    'drift',
    data.drift,
    (d) => `${d.checks} PSI checks (${d.source}), ${d.driftedChecks} above ${d.threshold}`,
  );
  say(
    'rollout',
    data.rollout,
    (r) =>
      `${r.decisions
        .map((d) => `${d.stage} v${d.version ?? '-'} ${d.applied ? 'applied' : 'not applied'}`)
        .join(', ')}; ${r.announcements.length} announcements`,
  );
  say(
    'lineage',
    data.lineage,
    (l) =>
      `${l.trainingSets.length} training sets, ${l.models.length} model versions, ${l.retrains.length} retrain requests`,
  );
  say(
    'readings',
    data.counts,
    (c) =>
      `sent ${c.sent}, stored ${c.stored}, quarantined ${c.quarantined.reduce((s, q) => s + q.count, 0)}: sent == stored ${c.sentEqualsStored ? 'PASS' : 'FAIL'}`,
  );
  say('alerts', data.alerts, (a) => {
    const routed = a.messages.filter((m) => m.from.startsWith('Alertmanager'));
    return `${a.messages.length} Slack messages (${routed.length} from Alertmanager${routed.length ? `: ${[...new Set(routed.map((m) => m.text))].join('; ')}` : ''}), ${a.prometheusAlerts.filter((p) => p.state === 'firing').length} Prometheus alerts firing at the end`;
  });
  return lines;
}
