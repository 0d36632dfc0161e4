// The risk map: sites drawn from their coordinates (no tile server), coloured by risk band,
// ringed at CRW Alert Level 1 and above; a site panel; a what-if DHW slider that runs the
// champion ONNX model in the browser with onnxruntime-web.
import * as ort from '/vendor/ort/ort.wasm.min.mjs';

ort.env.wasm.wasmPaths = '/vendor/ort/';
// Threads need cross-origin isolation; one request is one row, a single thread is plenty.
ort.env.wasm.numThreads = 1;

const COLOURS = { low: '#2b8a3e', moderate: '#f0c419', high: '#f08c00', severe: '#c92a2a' };
const BANDS = ['low', 'moderate', 'high', 'severe'];
const canvas = document.getElementById('map');
const ctx = canvas.getContext('2d');
const $ = (id) => document.getElementById(id);
const state = {
  sites: [],
  bounds: null,
  selected: null,
  session: null,
  card: null,
  features: null,
};

/** CRW alert level 0-7 (December 2023 scale): core's alertLevel rule, for the browser. */
function crwAlertLevel(hotspot, dhw) {
  if (!(hotspot > 0)) return 0;
  if (hotspot < 1) return 1;
  if (dhw < 4) return 2;
  return Math.min(7, 3 + Math.floor((dhw - 4) / 4));
}
const band = (risk) => BANDS[Math.min(3, Math.floor(risk * 4))];

function project(lon, lat) {
  const { minLon, maxLon, minLat, maxLat } = state.bounds;
  const scale = Math.min(canvas.width / (maxLon - minLon), canvas.height / (maxLat - minLat));
  return [(lon - minLon) * scale + 4, (maxLat - lat) * scale + 4];
}

function draw() {
  ctx.clearRect(0, 0, canvas.width, canvas.height);
  // Sites without an answer first, so coloured sites are drawn on top.
  const ordered = [...state.sites].sort(
    (a, b) => (a.properties.risk ?? -1) - (b.properties.risk ?? -1),
  );
  for (const site of ordered) {
    const [x, y] = project(...site.geometry.coordinates);
    const p = site.properties;
    ctx.fillStyle = p.band ? COLOURS[p.band] : '#ced4da';
    ctx.beginPath();
    ctx.arc(x, y, p.band ? 3 : 1.5, 0, 2 * Math.PI);
    ctx.fill();
    if ((p.alert_level ?? 0) >= 3) {
      ctx.strokeStyle = '#000';
      ctx.stroke();
    }
    if (state.selected === p.site_id) {
      ctx.strokeStyle = '#1c7ed6';
      ctx.lineWidth = 2;
      ctx.beginPath();
      ctx.arc(x, y, 8, 0, 2 * Math.PI);
      ctx.stroke();
      ctx.lineWidth = 1;
    }
  }
}

async function loadMap(date) {
  $('summary').textContent = 'loading…';
  const query = date ? `?date=${date}` : '';
  const response = await fetch(`/v1/risk-map${query}`);
  const map = await response.json();
  if (!response.ok) {
    // Keep the last map drawn and say why this day has none (e.g. no offline store).
    $('summary').textContent = `${date}: ${map.message}`;
    document.body.dataset.mapError = map.reason ?? map.error;
    return;
  }
  delete document.body.dataset.mapError;
  state.sites = map.features;
  if (!state.bounds) {
    const lons = map.features.map((f) => f.geometry.coordinates[0]);
    const lats = map.features.map((f) => f.geometry.coordinates[1]);
    state.bounds = {
      minLon: Math.min(...lons),
      maxLon: Math.max(...lons),
      minLat: Math.min(...lats),
      maxLat: Math.max(...lats),
    };
    const ids = map.features
      .filter((f) => f.properties.status === 'ok')
      .map((f) => f.properties.site_id);
    $('site-ids').innerHTML = ids.map((id) => `<option value="${id}">`).join('');
  }
  $('date').value = map.date;
  // Days after today have no answer; the server says so too (400).
  if (!date) $('date').max = map.date;
  const answered = map.features.filter((f) => f.properties.status === 'ok').length;
  const source = map.source === 'offline' ? ' (offline store, as known at the end of the day)' : '';
  $('summary').textContent =
    `${answered} of ${map.features.length} sites answered on ${map.date}${source}`;
  document.body.dataset.mapDate = map.date;
  document.body.dataset.mapReady = 'true';
  draw();
}

async function loadModel() {
  const models = await (await fetch('/v1/models')).json();
  if (!models.champion) return;
  state.card = await (await fetch(models.champion.card_url)).json();
  const bytes = await (await fetch(models.champion.url)).arrayBuffer();
  state.session = await ort.InferenceSession.create(new Uint8Array(bytes), {
    executionProviders: ['wasm'],
  });
  document.body.dataset.modelReady = 'true';
}

async function whatIf() {
  const n = Number($('what-if').value);
  $('what-if-n').textContent = String(n);
  const values = state.features?.values;
  if (!values || !state.session) return;
  const dhw = (values.dhw ?? 0) + n;
  const scenario = { ...values, dhw, dhw_max_ytd: Math.max(values.dhw_max_ytd ?? 0, dhw) };
  const row = Float32Array.from(state.card.features.map((f) => scenario[f.name] ?? f.mean));
  const file = state.card.files.model;
  const input = new ort.Tensor('float32', row, [1, row.length]);
  const output = await state.session.run({ [file.input]: input });
  const risk = output[file.output].data[0];
  $('what-if-dhw').textContent = dhw.toFixed(1);
  $('what-if-risk').textContent = risk.toFixed(4);
  $('what-if-band').textContent = band(risk);
  const hotspot = n > 0 ? Math.max(values.hotspot ?? 0, 1) : (values.hotspot ?? 0);
  $('what-if-alert').textContent = String(crwAlertLevel(hotspot, dhw));
  document.body.dataset.whatIf = String(n);
}

async function select(siteId) {
  const site = state.sites.find((f) => f.properties.site_id === siteId);
  if (!site) return;
  state.selected = siteId;
  draw();
  $('panel').hidden = false;
  $('site-name').textContent = `${site.properties.name} (${siteId})`;
  const response = await fetch('/v1/predict', {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ site_id: siteId }),
  });
  const p = await response.json();
  if (!response.ok) {
    $('risk').textContent = `no answer: ${p.message}`;
    return;
  }
  $('risk').textContent = p.risk.toFixed(4) + (p.degraded ? ' (CRW baseline, degraded)' : '');
  $('band').textContent = p.band;
  $('alert').textContent = String(p.alert_level);
  $('dhw').textContent = p.dhw.toFixed(1);
  $('model').textContent = `${p.model_name} ${p.model_version} (${p.variant})`;
  $('as-of').textContent = p.time;
  $('top').innerHTML = p.top_features
    .map(
      (f) =>
        `<li>${f.name} = ${f.value?.toFixed(2)}: ${f.contribution >= 0 ? '+' : ''}${f.contribution.toFixed(3)}</li>`,
    )
    .join('');
  state.features = await (await fetch(`/v1/features/${siteId}`)).json();
  document.body.dataset.selected = siteId;
  await whatIf();
}

canvas.addEventListener('click', (event) => {
  const rect = canvas.getBoundingClientRect();
  const [cx, cy] = [event.clientX - rect.left, event.clientY - rect.top];
  let best = null;
  let bestD = 100;
  for (const site of state.sites) {
    if (site.properties.status !== 'ok') continue;
    const [x, y] = project(...site.geometry.coordinates);
    const d = (x - cx) ** 2 + (y - cy) ** 2;
    if (d < bestD) [best, bestD] = [site.properties.site_id, d];
  }
  if (best) select(best);
});
$('site-search').addEventListener('change', (event) => select(event.target.value));
$('date').addEventListener('change', (event) => loadMap(event.target.value));
$('what-if').addEventListener('input', () => whatIf());

await Promise.all([loadMap(), loadModel()]);
