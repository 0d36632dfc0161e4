/**
 * Small SVG drawings for the report: plain strings, no external fonts, scripts or URLs, so
 * the HTML file stays self-contained and opens offline.
 */

export function escapeXml(text: string): string {
  return text
    .replaceAll('&', '&amp;')
    .replaceAll('<', '&lt;')
    .replaceAll('>', '&gt;')
    .replaceAll('"', '&quot;');
}

const fmt = (v: number) => (Math.round(v * 10) / 10).toString();

export const SERIES_COLOURS = [
  '#1f77b4',
  '#d62728',
  '#2ca02c',
  '#9467bd',
  '#ff7f0e',
  '#17becf',
  '#8c564b',
  '#e377c2',
  '#7f7f7f',
  '#bcbd22',
];

export const BAND_COLOURS: Record<string, string> = {
  low: '#2ca02c',
  moderate: '#e6c619',
  high: '#ff7f0e',
  severe: '#d62728',
};

export interface MapSite {
  lon: number;
  lat: number;
  label: string;
  band: string | null;
  risk: number | null;
  /** Who answered (variant, model version, degraded), for the table under the map. */
  answeredBy?: string;
  time?: string | null;
}

/**
 * The reef as grey cells (`reefCells`, cell centres of `cellDeg` squares) and the answered
 * sites on top, coloured by risk band, labelled; equirectangular, scaled by cos(latitude).
 */
export function drawRiskMap(options: {
  reefCells: readonly { lon: number; lat: number }[];
  cellDeg: number;
  sites: readonly MapSite[];
  width?: number;
}): string {
  const width = options.width ?? 640;
  const points = [...options.reefCells, ...options.sites];
  const pad = 0.5;
  const lonMin = Math.min(...points.map((p) => p.lon)) - pad;
  const lonMax = Math.max(...points.map((p) => p.lon)) + pad;
  const latMin = Math.min(...points.map((p) => p.lat)) - pad;
  const latMax = Math.max(...points.map((p) => p.lat)) + pad;
  const aspect = Math.cos((((latMin + latMax) / 2) * Math.PI) / 180);
  const scale = width / ((lonMax - lonMin) * aspect);
  const height = Math.round((latMax - latMin) * scale);
  const x = (lon: number) => (lon - lonMin) * aspect * scale;
  const y = (lat: number) => (latMax - lat) * scale;
  const cell = Math.max(options.cellDeg * aspect * scale, 1);
  const cells = options.reefCells
    .map(
      (c) =>
        `<rect x="${fmt(x(c.lon) - cell / 2)}" y="${fmt(y(c.lat) - cell / 2)}" width="${fmt(cell)}" height="${fmt(cell)}"/>`,
    )
    .join('');
  const sites = options.sites
    .map((s) => {
      const colour = s.band ? (BAND_COLOURS[s.band] ?? '#555') : '#999';
      const risk = s.risk === null ? 'no answer' : `risk ${s.risk.toFixed(2)}`;
      return `<g><circle cx="${fmt(x(s.lon))}" cy="${fmt(y(s.lat))}" r="7" fill="${colour}" stroke="#000" stroke-width="1"><title>${escapeXml(`${s.label}: ${risk}${s.band ? ` (${s.band})` : ''}`)}</title></circle><text x="${fmt(x(s.lon) + 10)}" y="${fmt(y(s.lat) + 4)}" font-size="11">${escapeXml(`${s.label} ${s.risk === null ? '-' : s.risk.toFixed(2)}`)}</text></g>`;
    })
    .join('');
  const legend = Object.entries(BAND_COLOURS)
    .map(
      ([band, colour], i) =>
        `<circle cx="12" cy="${height - 72 + i * 16}" r="5" fill="${colour}" stroke="#000"/><text x="22" y="${height - 68 + i * 16}" font-size="11">${band}</text>`,
    )
    .join('');
  return `<svg xmlns="http://www.w3.org/2000/svg" class="risk-map" width="${width}" height="${height}" viewBox="0 0 ${width} ${height}" font-family="sans-serif"><rect width="100%" height="100%" fill="#eaf4fb"/><g fill="#b9c4cc">${cells}</g>${sites}<g>${legend}</g><text x="${width - 8}" y="${height - 8}" font-size="10" text-anchor="end">${fmt(lonMin)}..${fmt(lonMax)} E, ${fmt(-latMax)}..${fmt(-latMin)} S</text></svg>`;
}

export interface BarSeries {
  name: string;
  values: readonly (number | null)[];
}

/** Grouped vertical bars: one group per category, one bar per series; null draws nothing. */
export function drawGroupedBars(options: {
  categories: readonly string[];
  series: readonly BarSeries[];
  yMax: number;
  yLabel: string;
  width?: number;
}): string {
  const height = 260;
  const left = 44;
  const bottom = 70;
  const groupWidth = Math.max(24, 12 * options.series.length + 8);
  const width = Math.max(options.width ?? 640, left + 20 + groupWidth * options.categories.length);
  const plotHeight = height - bottom - 20;
  const barWidth = (groupWidth - 8) / Math.max(options.series.length, 1);
  const y = (v: number) => 20 + plotHeight * (1 - Math.min(v, options.yMax) / options.yMax);
  const ticks = [0, 0.25, 0.5, 0.75, 1]
    .map((f) => {
      const v = f * options.yMax;
      return `<line x1="${left}" x2="${width - 10}" y1="${fmt(y(v))}" y2="${fmt(y(v))}" stroke="#ddd"/><text x="${left - 4}" y="${fmt(y(v) + 4)}" font-size="10" text-anchor="end">${v.toFixed(2)}</text>`;
    })
    .join('');
  const bars = options.categories
    .map((category, c) => {
      const x0 = left + 10 + c * groupWidth;
      const group = options.series
        .map((s, i) => {
          const v = s.values[c];
          if (v === null || v === undefined) return '';
          return `<rect x="${fmt(x0 + i * barWidth)}" y="${fmt(y(v))}" width="${fmt(barWidth - 1)}" height="${fmt(y(0) - y(v))}" fill="${SERIES_COLOURS[i % SERIES_COLOURS.length]}"><title>${escapeXml(`${category} ${s.name}: ${v.toFixed(3)}`)}</title></rect>`;
        })
        .join('');
      const lx = x0 + (groupWidth - 8) / 2;
      return `${group}<text transform="translate(${fmt(lx)},${height - bottom + 12}) rotate(-45)" font-size="10" text-anchor="end">${escapeXml(category)}</text>`;
    })
    .join('');
  return `<svg xmlns="http://www.w3.org/2000/svg" class="bars" width="${width}" height="${height}" viewBox="0 0 ${width} ${height}" font-family="sans-serif">${ticks}<text x="10" y="12" font-size="11">${escapeXml(options.yLabel)}</text>${bars}${legendRow(
    options.series.map((s) => s.name),
    width,
  )}</svg>`;
}

function legendRow(names: readonly string[], width: number): string {
  return names
    .map(
      (name, i) =>
        `<rect x="${width - 190}" y="${6 + i * 14}" width="10" height="10" fill="${SERIES_COLOURS[i % SERIES_COLOURS.length]}"/><text x="${width - 176}" y="${15 + i * 14}" font-size="11">${escapeXml(name)}</text>`,
    )
    .join('');
}

export interface LineSeries {
  name: string;
  points: readonly { t: number; y: number }[];
}

/** Lines over time (t in epoch ms) with an optional dashed threshold line. */
export function drawLineChart(options: {
  series: readonly LineSeries[];
  yLabel: string;
  threshold?: number;
  width?: number;
}): string {
  const width = options.width ?? 720;
  const height = 280;
  const left = 48;
  const right = 200;
  const top = 20;
  const bottom = 40;
  const all = options.series.flatMap((s) => s.points);
  const tMin = Math.min(...all.map((p) => p.t));
  const tMax = Math.max(...all.map((p) => p.t), tMin + 1);
  const yMax = Math.max(...all.map((p) => p.y), options.threshold ?? 0) * 1.1 || 1;
  const x = (t: number) => left + ((t - tMin) / (tMax - tMin)) * (width - left - right);
  const y = (v: number) => top + (height - top - bottom) * (1 - v / yMax);
  const lines = options.series
    .map((s, i) => {
      const colour = SERIES_COLOURS[i % SERIES_COLOURS.length];
      const path = s.points.map((p) => `${fmt(x(p.t))},${fmt(y(p.y))}`).join(' ');
      const last = s.points.at(-1);
      return `<polyline fill="none" stroke="${colour}" stroke-width="1.5" points="${path}"><title>${escapeXml(s.name)}</title></polyline>${s.points.length === 1 && last ? `<circle cx="${fmt(x(last.t))}" cy="${fmt(y(last.y))}" r="3" fill="${colour}"/>` : ''}<rect x="${width - right + 10}" y="${top + i * 14}" width="10" height="10" fill="${colour}"/><text x="${width - right + 24}" y="${top + 9 + i * 14}" font-size="11">${escapeXml(`${s.name} (max ${Math.max(...s.points.map((p) => p.y)).toFixed(2)})`)}</text>`;
    })
    .join('');
  const threshold =
    options.threshold === undefined
      ? ''
      : `<line x1="${left}" x2="${width - right}" y1="${fmt(y(options.threshold))}" y2="${fmt(y(options.threshold))}" stroke="#000" stroke-dasharray="4 3"/><text x="${width - right - 2}" y="${fmt(y(options.threshold) - 4)}" font-size="10" text-anchor="end">threshold ${options.threshold}</text>`;
  const axis = [0, 0.5, 1]
    .map((f) => {
      const v = f * yMax;
      return `<text x="${left - 4}" y="${fmt(y(v) + 4)}" font-size="10" text-anchor="end">${v.toFixed(2)}</text><line x1="${left}" x2="${width - right}" y1="${fmt(y(v))}" y2="${fmt(y(v))}" stroke="#eee"/>`;
    })
    .join('');
  const times = [tMin, tMax]
    .map(
      (t, i) =>
        `<text x="${fmt(x(t))}" y="${height - 20}" font-size="10" text-anchor="${i === 0 ? 'start' : 'end'}">${new Date(t).toISOString().slice(0, 19).replace('T', ' ')}</text>`,
    )
    .join('');
  return `<svg xmlns="http://www.w3.org/2000/svg" class="lines" width="${width}" height="${height}" viewBox="0 0 ${width} ${height}" font-family="sans-serif">${axis}${threshold}${lines}${times}<text x="10" y="12" font-size="11">${escapeXml(options.yLabel)}</text></svg>`;
}
