import type { MetricSet } from '@reefguard/core';
import type { EvaluationReport } from './evaluate.js';

const METRICS = ['auroc', 'pr_auc', 'f1', 'brier', 'peirce'] as const;

function format(value: number | null | undefined): string {
  return value === null || value === undefined ? '-' : value.toFixed(3);
}

function metricRow(label: string, n: string, metrics: MetricSet): string {
  return [
    label.padEnd(22),
    n.padStart(12),
    ...METRICS.map((m) => format(metrics[m]).padStart(8)),
  ].join(' ');
}

/** The human output of `evaluate`: overall and per-event skill of model and CRW baseline. */
export function renderTable(report: EvaluationReport): string {
  const header = [
    'scorer'.padEnd(22),
    'rows (pos)'.padStart(12),
    ...METRICS.map((m) => m.padStart(8)),
  ].join(' ');
  const lines = [
    `model ${report.model_name} ${report.model_version} (threshold ${report.model.threshold.toFixed(3)}) on ${report.observations.join(', ')}`,
    `rows ${report.n}, positives ${report.positives}, BLEACH_RISK_P90 ${format(report.model.bleach_risk_p90)}, data version ${report.data_version.slice(0, 12)}`,
    '',
    header,
    metricRow('model', `${report.n} (${report.positives})`, report.model),
    metricRow('CRW DHW>=4', `${report.n} (${report.positives})`, report.crw_baseline),
  ];
  for (const event of report.events) {
    const n = `${event.model.n} (${event.model.positives})`;
    lines.push(metricRow(`${event.event} model`, n, event.model));
    lines.push(metricRow(`${event.event} CRW`, n, event.crw_baseline));
  }
  const counts = (entries: Readonly<Record<string, number>>) =>
    Object.entries(entries)
      .filter(([, count]) => count > 0)
      .map(([reason, count]) => `${reason} ${count}`)
      .join(', ');
  const excluded = counts(report.excluded);
  if (excluded) lines.push('', `not scored: ${excluded}`);
  for (const [reason, rows] of Object.entries(report.excluded_examples)) {
    const where = rows.map((r) => `row ${r.row} ${r.column}=${JSON.stringify(r.value)}`);
    lines.push(
      `  ${reason}: ${where.join('; ')}${rows.length < (report.excluded[reason] ?? 0) ? '; ...' : ''}`,
    );
  }
  const adjusted = counts(report.adjusted);
  if (adjusted) lines.push(`scored, read as documented: ${adjusted}`);
  for (const warning of report.warnings) lines.push(`warning: ${warning}`);
  return lines.join('\n');
}

function escapeHtml(text: string): string {
  return text.replace(
    /[&<>"]/g,
    (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;' })[c] as string,
  );
}

/** A reliability diagram (predicted vs observed rate per bin) as inline SVG. */
function reliabilitySvg(report: EvaluationReport): string {
  const size = 240;
  const points = report.reliability
    .filter((bin) => bin.mean_predicted !== null && bin.observed_rate !== null)
    .map((bin) => {
      const x = 20 + (bin.mean_predicted as number) * size;
      const y = 20 + (1 - (bin.observed_rate as number)) * size;
      const r = 2 + Math.sqrt(bin.n / Math.max(report.n, 1)) * 12;
      return `<circle cx="${x.toFixed(1)}" cy="${y.toFixed(1)}" r="${r.toFixed(1)}" fill="#1f77b4" fill-opacity="0.7"><title>${bin.n} rows</title></circle>`;
    });
  return `<svg width="${size + 40}" height="${size + 40}" role="img" aria-label="reliability diagram">
<rect x="20" y="20" width="${size}" height="${size}" fill="none" stroke="#999"/>
<line x1="20" y1="${size + 20}" x2="${size + 20}" y2="20" stroke="#999" stroke-dasharray="4"/>
${points.join('\n')}
<text x="20" y="14" font-size="11">observed rate vs predicted risk (10 bins)</text></svg>`;
}

/** A self-contained HTML page: skill table per event and the reliability diagram. */
export function renderHtml(report: EvaluationReport): string {
  const cells = (m: MetricSet) => METRICS.map((k) => `<td>${format(m[k])}</td>`).join('');
  const rows = [
    `<tr><th>all</th><td>${report.n} (${report.positives})</td><td>model</td>${cells(report.model)}</tr>`,
    `<tr><th>all</th><td></td><td>CRW DHW&ge;4</td>${cells(report.crw_baseline)}</tr>`,
    ...report.events.flatMap((e) => [
      `<tr><th>${escapeHtml(e.event)}</th><td>${e.model.n} (${e.model.positives})</td><td>model</td>${cells(e.model)}</tr>`,
      `<tr><th>${escapeHtml(e.event)}</th><td></td><td>CRW DHW&ge;4</td>${cells(e.crw_baseline)}</tr>`,
    ]),
  ];
  return `<!doctype html><html lang="en"><head><meta charset="utf-8"><title>ReefGuard evaluation</title>
<style>body{font-family:sans-serif;margin:2em}table{border-collapse:collapse}td,th{padding:4px 8px;border-bottom:1px solid #ddd;text-align:right}</style></head><body>
<h1>Model ${escapeHtml(report.model_name)} ${escapeHtml(report.model_version)} vs the CRW baseline</h1>
<p>${escapeHtml(report.observations.join(', '))}: ${report.n} rows, ${report.positives} positives; threshold ${report.model.threshold.toFixed(3)}; BLEACH_RISK_P90 ${format(report.model.bleach_risk_p90)}; data version <code>${report.data_version}</code></p>
${report.warnings.map((w) => `<p><strong>warning:</strong> ${escapeHtml(w)}</p>`).join('\n')}
<table><thead><tr><th>event</th><th>rows (pos)</th><th>scorer</th>${METRICS.map((m) => `<th>${m}</th>`).join('')}</tr></thead><tbody>
${rows.join('\n')}
</tbody></table>
<h2>Reliability</h2>
${reliabilitySvg(report)}
</body></html>
`;
}
