/**
 * POST /v1/predict (features from Redis, warm onnxruntime-node session, occlusion attribution,
 * every answer published on NATS) against the same ONNX model behind
 * `mlflow models serve --env-manager local`, with the same load generators on loopback: the
 * most each answers, and latency at 1,000 req/s.
 * Goals: p99 < 10 ms at 1,000 req/s, and >= 5x the throughput of mlflow models serve.
 *
 *   node_modules/.bin/tsx benchmarks/serving-predict.ts [--rate 1000] [--connections 16] [--duration 10]
 *
 * Ours runs as `./reefguard serve` (the compiled CLI, production settings, nothing tuned for the
 * benchmark); mlflow as its own process group; the open-loop generator in a process of its own
 * (benchmarks/serving-open-loop.ts); this process runs autocannon. For every window at the
 * fixed rate it scrapes the server's /metrics before and after: event-loop delay, GC pauses and
 * the per-stage breakdown of /v1/predict over exactly that window.
 */
import { type ChildProcess, fork, spawn } from 'node:child_process';
import { cp, mkdir, mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { cpus, loadavg, tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import {
  FEATURE_SET_VERSION,
  freePort,
  onlineFeatureKey,
  startNats,
  startRedis,
} from '@reefguard/core';
import autocannon from 'autocannon';
import type { Job, JobResult } from './serving-open-loop.ts';

const ROOT = resolve(import.meta.dirname, '..');
const MODEL = join(ROOT, 'serving/test/fixtures/models/v1');
const VENV_BIN = join(ROOT, 'trainer/.venv/bin');
const SITES = 200;
const P99_GOAL_MS = 10;
// `--rate N --connections N --duration S` change the load (defaults: the goal setting).
const { values: flags } = parseArgs({
  args: process.argv.slice(2),
  options: {
    rate: { type: 'string', default: '1000' },
    connections: { type: 'string', default: '16' },
    duration: { type: 'string', default: '10' },
  },
});
const DURATION_S = Number(flags.duration);
const CONNECTIONS = Number(flags.connections);
const RATE = Number(flags.rate);
const STEADY_S = Math.max(1, Math.round(DURATION_S / 2));
for (const [name, value] of Object.entries({ RATE, CONNECTIONS, DURATION_S })) {
  if (!(Number.isInteger(value) && value > 0)) {
    throw new Error(`--${name.toLowerCase().replace('_s', '')} must be a positive integer`);
  }
}
/** The fixture model's input columns, in its card's order. */
const INPUTS = ['dhw', 'dhw_max_ytd', 'hotspot', 'sst_anomaly', 'turbidity_zscore', 'depth_m'];

function features(i: number): Record<string, string> {
  const asOf = new Date(Date.now() - 3_600_000).toISOString();
  return {
    as_of: asOf,
    computed_at: asOf,
    feature_set_version: FEATURE_SET_VERSION,
    dhw: String((i % 12) * 0.7),
    dhw_max_ytd: String((i % 12) * 0.8),
    hotspot: String((i % 6) * 0.3),
    sst_anomaly: String((i % 9) * 0.2 - 0.4),
    turbidity_zscore: String((i % 5) * 0.3 - 0.6),
    depth_m: String(3 + (i % 15)),
    alert_level: String(Math.min(7, i % 8)),
  };
}

async function waitFor(url: string, child: ChildProcess, seconds: number) {
  const deadline = Date.now() + seconds * 1000;
  while (Date.now() < deadline) {
    if (child.exitCode !== null) throw new Error(`${url}: server exited with ${child.exitCode}`);
    try {
      if ((await fetch(url)).ok) return;
    } catch {}
    await new Promise((r) => setTimeout(r, 250));
  }
  throw new Error(`${url} not ready after ${seconds} s`);
}

interface Latency {
  rate: number;
  p50: number;
  p90: number;
  p99: number;
  p999: number;
  max: number;
  failed: number;
}

/**
 * Open-loop load at a steady RATE for STEADY_S from a generator process of its own: request i
 * is due at t0 + i / RATE whatever the answers before it and its latency counts from then.
 */
async function openLoop(url: string, path: string, bodies: string[]) {
  const { hostname, port } = new URL(url);
  const child = fork(join(ROOT, 'benchmarks/serving-open-loop.ts'), [], {
    execArgv: ['--import', 'tsx'],
    stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
  });
  const job: Job = {
    host: hostname,
    port: Number(port),
    path,
    bodies,
    rate: RATE,
    durationS: STEADY_S,
  };
  const result = await new Promise<JobResult>((done, fail) => {
    child.once('message', (message) => done(message as JobResult));
    child.once('exit', (code) => fail(new Error(`the open-loop generator exited with ${code}`)));
    child.send(job);
  });
  const sorted = result.latenciesMs.sort((x, y) => x - y);
  const at = (q: number) =>
    sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))] ?? Number.NaN;
  const latency: Latency = {
    rate: result.sent / result.elapsedS,
    p50: at(0.5),
    p90: at(0.9),
    p99: at(0.99),
    p999: at(0.999),
    max: sorted.at(-1) ?? Number.NaN,
    failed: result.failed,
  };
  if (result.firstError)
    console.log(`  open loop: ${result.failed} failed, first: ${result.firstError}`);
  return { latency, generatorLoopP99Ms: result.generatorLoopDelayP99Ms };
}

/** One Prometheus text page as series -> value ("name{labels}" as written). */
async function scrape(url: string): Promise<Map<string, number>> {
  const text = await (await fetch(`${url}/metrics`)).text();
  const series = new Map<string, number>();
  for (const line of text.split('\n')) {
    if (line.startsWith('#') || line === '') continue;
    const space = line.lastIndexOf(' ');
    series.set(line.slice(0, space), Number(line.slice(space + 1)));
  }
  return series;
}

const STAGES = ['parse', 'features', 'model', 'answer', 'respond', 'total'] as const;

/** The server's own view of one window: loop delay, GC pauses, where /v1/predict's time went. */
interface ServerWindow {
  loopP99Ms: number;
  loopMaxMs: number;
  gc: Record<'minor' | 'major', { n: number; ms: number; maxLeMs: number }>;
  stages: Record<(typeof STAGES)[number], { meanMs: number; p99LeMs: number }>;
}

/**
 * Differences of two scrapes. A histogram's p99 is the upper bound of the bucket holding the
 * 99th percentile ("<= x ms"); the event-loop gauges already cover the window (they reset at
 * each scrape, so the `before` scrape starts the window).
 */
function serverWindow(before: Map<string, number>, after: Map<string, number>): ServerWindow {
  const delta = (key: string) => (after.get(key) ?? 0) - (before.get(key) ?? 0);
  const buckets = (name: string, label: string) =>
    [...after.keys()]
      .filter((k) => k.startsWith(`${name}_bucket{`) && k.includes(label))
      .map((k) => ({ le: Number(/le="([^"]+)"/.exec(k)?.[1]), n: delta(k) }))
      .sort((x, y) => x.le - y.le);
  const quantileLe = (name: string, label: string, q: number) => {
    const all = buckets(name, label);
    const total = all.at(-1)?.n ?? 0;
    if (total === 0) return Number.NaN;
    return (all.find((b) => b.n >= q * total)?.le ?? Number.POSITIVE_INFINITY) * 1e3;
  };
  const gc = (kind: 'minor' | 'major') => {
    const label = `kind="${kind}"`;
    return {
      n: delta(`reefguard_gc_pause_seconds_count{${label}}`),
      ms: delta(`reefguard_gc_pause_seconds_sum{${label}}`) * 1e3,
      maxLeMs: quantileLe('reefguard_gc_pause_seconds', label, 1),
    };
  };
  const stage = (name: string) => {
    const label = `stage="${name}"`;
    const n = delta(`reefguard_predict_stage_seconds_count{${label}}`);
    return {
      meanMs: (delta(`reefguard_predict_stage_seconds_sum{${label}}`) / n) * 1e3,
      p99LeMs: quantileLe('reefguard_predict_stage_seconds', label, 0.99),
    };
  };
  return {
    loopP99Ms:
      (after.get('reefguard_event_loop_delay_seconds{quantile="0.99"}') ?? Number.NaN) * 1e3,
    loopMaxMs: (after.get('reefguard_event_loop_delay_seconds{quantile="1"}') ?? Number.NaN) * 1e3,
    gc: { minor: gc('minor'), major: gc('major') },
    stages: Object.fromEntries(STAGES.map((s) => [s, stage(s)])) as ServerWindow['stages'],
  };
}

/** User + system CPU seconds of a process, or of every process in its group (Linux /proc). */
async function cpuSeconds(pid: number, group: boolean): Promise<number> {
  const ticksPerS = 100;
  const fields = async (p: string) => {
    const stat = await readFile(`/proc/${p}/stat`, 'utf8').catch(() => '');
    // Fields after the command name (which may hold spaces): state is field 3.
    return stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  };
  const ticks = (f: string[]) => Number(f[11]) + Number(f[12]);
  if (!group) return ticks(await fields(String(pid))) / ticksPerS;
  let total = 0;
  for (const p of await readdir('/proc')) {
    if (!/^\d+$/.test(p)) continue;
    const f = await fields(p);
    if (Number(f[2]) === pid) total += ticks(f);
  }
  return total / ticksPerS;
}

function run(options: autocannon.Options): Promise<autocannon.Result> {
  return new Promise((done, fail) => {
    autocannon(options, (error, result) => (error ? fail(error) : done(result)));
  });
}

async function main() {
  const loadBefore = loadavg()[0] as number;
  const dir = await mkdtemp(join(tmpdir(), 'reefguard-bench-'));
  const children: ChildProcess[] = [];
  // mlflow runs uvicorn workers in its own process group: stopped as a group.
  let mlflowChild: ChildProcess | undefined;
  const redisServer = await startRedis({ dataDir: join(dir, 'redis') });
  // Every answer is also published on reefguard.v1.predictions.{site}: measured with it on.
  const natsServer = await startNats({ dataDir: join(dir, 'nats') });
  try {
    // The online store as the stream processor leaves it: one hash per site, 1 h TTL.
    const commands: string[] = [];
    for (let i = 1; i <= SITES; i++) {
      const key = onlineFeatureKey(`pixel-${i}`);
      const fields = Object.entries(features(i)).flat().join(' ');
      commands.push(`HSET ${key} ${fields}`, `EXPIRE ${key} 3600`);
    }
    const cli = spawn('redis-cli', ['-u', redisServer.url], {
      stdio: ['pipe', 'ignore', 'inherit'],
    });
    cli.stdin?.end(`${commands.join('\n')}\n`);
    await new Promise((r) => cli.once('exit', r));

    const store = join(dir, 'state/models/reefguard-bleaching-risk');
    await mkdir(join(store, '1'), { recursive: true });
    await cp(MODEL, join(store, '1'), { recursive: true });
    await writeFile(join(store, 'aliases.json'), JSON.stringify({ champion: '1' }));

    const oursPort = await freePort();
    // Exactly what a user runs: the launcher rebuilds if sources changed, then the compiled CLI.
    const ours = spawn(join(ROOT, 'reefguard'), ['serve'], {
      cwd: ROOT,
      stdio: ['ignore', 'ignore', 'inherit'],
      env: {
        ...process.env,
        REEFGUARD_REDIS_URL: redisServer.url,
        REEFGUARD_NATS_URL: natsServer.url,
        REEFGUARD_STATE_DIR: join(dir, 'state'),
        REEFGUARD_PORT: String(oursPort),
        // The production default: per-request logging must not cost latency.
        REEFGUARD_LOG_LEVEL: 'info',
      },
    });
    children.push(ours);

    const mlflowModel = join(dir, 'mlflow-model');
    const save = spawn(
      join(VENV_BIN, 'python'),
      [
        '-c',
        `import mlflow.onnx, onnx; mlflow.onnx.save_model(onnx.load(${JSON.stringify(join(MODEL, 'model.onnx'))}), ${JSON.stringify(mlflowModel)})`,
      ],
      { stdio: 'inherit' },
    );
    await new Promise((r) => save.once('exit', r));
    const mlflowPort = await freePort();
    const mlflow = spawn(
      join(VENV_BIN, 'mlflow'),
      [
        'models',
        'serve',
        '-m',
        mlflowModel,
        '--env-manager',
        'local',
        '-h',
        '127.0.0.1',
        '-p',
        String(mlflowPort),
      ],
      {
        stdio: 'ignore',
        detached: true,
        env: { ...process.env, PATH: `${VENV_BIN}:${process.env.PATH}` },
      },
    );
    children.push(mlflow);
    mlflowChild = mlflow;

    const oursUrl = `http://127.0.0.1:${oursPort}`;
    const mlflowUrl = `http://127.0.0.1:${mlflowPort}`;
    await Promise.all([
      waitFor(`${oursUrl}/readyz`, ours, 120),
      waitFor(`${mlflowUrl}/ping`, mlflow, 180),
    ]);

    let n = 0;
    const oursRequest: autocannon.Request = {
      method: 'POST',
      path: '/v1/predict',
      headers: { 'content-type': 'application/json' },
      setupRequest: (request) => ({
        ...request,
        body: JSON.stringify({ site_id: `pixel-${(n++ % SITES) + 1}` }),
      }),
    };
    const mlflowBody = (i: number) => {
      const f = features(i);
      return JSON.stringify({ inputs: [INPUTS.map((k) => Number(f[k]))] });
    };
    const mlflowRequest: autocannon.Request = {
      method: 'POST',
      path: '/invocations',
      headers: { 'content-type': 'application/json' },
      setupRequest: (request) => ({ ...request, body: mlflowBody((n++ % SITES) + 1) }),
    };
    const sites = Array.from({ length: SITES }, (_, i) => i + 1);
    const targets = [
      {
        name: 'reefguard /v1/predict',
        child: ours,
        group: false,
        url: oursUrl,
        request: oursRequest,
        path: '/v1/predict',
        bodies: sites.map((i) => JSON.stringify({ site_id: `pixel-${i}` })),
        metrics: true,
      },
      {
        name: 'mlflow models serve',
        child: mlflow,
        group: true,
        url: mlflowUrl,
        request: mlflowRequest,
        path: '/invocations',
        bodies: sites.map(mlflowBody),
        metrics: false,
      },
    ];
    const saturation: string[] = [];
    const latency: string[] = [];
    const stageRows: string[] = [];
    const measured: Array<{ max: number; openP99: number; pacedP99: number }> = [];
    // A histogram quantile above its top bucket is only known to be larger.
    const fmt = (x: number, digits = 2) =>
      Number.isFinite(x) ? x.toFixed(digits) : x === Number.POSITIVE_INFINITY ? 'over top' : '-';
    const latencyRow = (name: string, generator: string, l: Latency, server?: ServerWindow) => {
      const gc = server
        ? `${server.gc.minor.n} / ${fmt(server.gc.minor.ms, 1)} ms, <= ${fmt(server.gc.minor.maxLeMs, 1)} | ${server.gc.major.n} / ${fmt(server.gc.major.ms, 1)} ms`
        : '- | -';
      const loop = server ? `${fmt(server.loopP99Ms)} / ${fmt(server.loopMaxMs, 1)}` : '-';
      return `| ${name} | ${generator} | ${l.rate.toFixed(0)} | ${fmt(l.p50)} | ${fmt(l.p90)} | ${fmt(l.p99)} | ${fmt(l.p999)} | ${fmt(l.max, 1)} | ${loop} | ${gc} | ${l.failed} |`;
    };
    for (const target of targets) {
      const base = { url: target.url, requests: [target.request], connections: CONNECTIONS };
      const pid = target.child.pid as number;
      // mlflow answers from uvicorn worker processes: its whole process group is counted.
      const cpu = () => cpuSeconds(pid, target.group);
      // The server's view of a window, for ours (mlflow exports no such metrics).
      const watch = async <T>(work: () => Promise<T>) => {
        const before = target.metrics ? await scrape(target.url) : null;
        const result = await work();
        const server = before ? serverWindow(before, await scrape(target.url)) : undefined;
        return { result, server };
      };
      console.log(`${target.name}: warm-up`);
      await run({ ...base, duration: 2 });
      // A first open-loop run warms the JIT and the connections at the measured rate.
      await openLoop(target.url, target.path, target.bodies);
      console.log(`${target.name}: open loop at ${RATE} req/s, ${STEADY_S} s`);
      const open = await watch(() => openLoop(target.url, target.path, target.bodies));
      console.log(`${target.name}: saturation, ${CONNECTIONS} connections, ${DURATION_S} s`);
      const cpuBefore = await cpu();
      const max = await run({ ...base, duration: DURATION_S });
      const cpuPerRequestUs = (((await cpu()) - cpuBefore) / max.requests.total) * 1e6;
      console.log(`${target.name}: autocannon overallRate ${RATE} req/s, ${DURATION_S} s`);
      const paced = await watch(() => run({ ...base, duration: DURATION_S, overallRate: RATE }));
      const p = paced.result;
      const failed =
        max.errors +
        max.non2xx +
        max.timeouts +
        p.errors +
        p.non2xx +
        p.timeouts +
        open.result.latency.failed;
      measured.push({
        max: max.requests.average,
        openP99: open.result.latency.p99,
        pacedP99: p.latency.p99,
      });
      saturation.push(
        `| ${target.name} | ${max.requests.average.toFixed(0)} | ${max.latency.p50} | ${max.latency.p99} | ${cpuPerRequestUs.toFixed(0)} | ${failed} |`,
      );
      const pacedLatency: Latency = {
        rate: p.requests.total / p.duration,
        p50: p.latency.p50,
        p90: p.latency.p90,
        p99: p.latency.p99,
        p999: p.latency.p99_9,
        max: p.latency.max,
        failed: p.errors + p.non2xx + p.timeouts,
      };
      latency.push(
        latencyRow(
          target.name,
          `autocannon overallRate (${CONNECTIONS} conn.)`,
          pacedLatency,
          paced.server,
        ),
        latencyRow(target.name, 'open loop, evenly spaced', open.result.latency, open.server),
      );
      for (const [generator, server] of [
        ['open loop', open.server],
        ['autocannon', paced.server],
      ] as const) {
        if (!server) continue;
        const cells = STAGES.map(
          (s) => `${fmt(server.stages[s].meanMs, 3)} / ${fmt(server.stages[s].p99LeMs, 2)}`,
        );
        stageRows.push(`| ${generator} | ${cells.join(' | ')} |`);
      }
    }
    const served = await (await fetch(`${oursUrl}/metrics`)).text();
    const count = (pattern: RegExp) => served.match(pattern)?.[1] ?? '?';
    const topic = `predictions published on NATS during the runs: ${count(/^reefguard_predictions_published_total (\d+)/m)}, dropped (buffer full): ${count(/^reefguard_predictions_dropped_total\{reason="buffer_full"\} (\d+)/m)}`;
    // The generator's own floor: the same open loop against an empty HTTP server in a process
    // of its own. When this p99 is high, the machine (shared, 2 cores) is the limit, not serving.
    const floorPort = await freePort();
    const floor = spawn(
      process.execPath,
      [
        '-e',
        `require('node:http').createServer((q, s) => { q.resume(); q.on('end', () => s.end('{}')); }).listen(${floorPort}, '127.0.0.1')`,
      ],
      { stdio: 'ignore' },
    );
    children.push(floor);
    await waitFor(`http://127.0.0.1:${floorPort}/`, floor, 30);
    const calibration = await openLoop(`http://127.0.0.1:${floorPort}`, '/', ['{}']);
    latency.push(
      latencyRow(
        'empty node:http server (generator floor)',
        'open loop, evenly spaced',
        calibration.latency,
      ),
    );
    const [ours_, theirs] = measured as [(typeof measured)[number], (typeof measured)[number]];
    // The machine may be shared: the 1-minute load average says how busy it was.
    console.log(
      `\nload average (1 min): ${loadBefore.toFixed(1)} before, ${(loadavg()[0] as number).toFixed(1)} after; ${cpus().length} CPUs`,
    );
    console.log(
      `${SITES} sites, same ONNX model (serving/test/fixtures/models/v1); ours as \`./reefguard serve\` (compiled, default settings), mlflow with its uvicorn workers, each in its own processes on loopback; autocannon in this process, the open-loop generator in its own`,
    );
    console.log(`\nsaturation: autocannon ${CONNECTIONS} connections for ${DURATION_S} s`);
    console.log(
      '| server | req/s | p50 ms | p99 ms | server CPU us / request | failed (all runs) |',
    );
    console.log('|---|---|---|---|---|---|');
    for (const row of saturation) console.log(row);
    console.log(
      `\nlatency at ${RATE} req/s (autocannon: ${DURATION_S} s, each connection sends its share of a second back to back, 1 ms resolution; open loop: ${STEADY_S} s, one request every ${1000 / RATE} ms, latency from the due time). Server columns from its /metrics over the same window: event-loop delay p99 / max, and GC pauses (minor: count / total, largest <= bucket | major: count / total)`,
    );
    console.log(
      '| server | generator | req/s | p50 ms | p90 ms | p99 ms | p99.9 ms | max ms | server loop delay p99 / max ms | GC minor | GC major | failed |',
    );
    console.log('|---|---|---|---|---|---|---|---|---|---|---|---|');
    for (const row of latency) console.log(row);
    console.log(
      `open-loop generator's own event-loop delay p99 (how late it sent): ${fmt(calibration.generatorLoopP99Ms)} ms against the empty server`,
    );
    console.log(
      `\nwhere the time of reefguard's POST /v1/predict goes at ${RATE} req/s (server side, mean ms / p99 <= bucket ms): parse = body parse + validation, features = Redis round trip, model = the session run (answer + attribution rows), answer = rest of the handler, respond = serialisation + hooks + socket write, total = received -> written`,
    );
    console.log(`| generator | ${STAGES.join(' | ')} |`);
    console.log(`|---|${STAGES.map(() => '---').join('|')}|`);
    for (const row of stageRows) console.log(row);
    console.log(
      `\nthroughput reefguard ${ours_.max.toFixed(0)} req/s / mlflow ${theirs.max.toFixed(0)} req/s = ${(ours_.max / theirs.max).toFixed(1)}x (goal >= 5x)`,
    );
    console.log(topic);
    console.log(
      `reefguard p99 at ${RATE} req/s: ${ours_.pacedP99} ms autocannon, ${ours_.openP99.toFixed(2)} ms open loop (goal < 10 ms)`,
    );
    if (calibration.latency.p99 >= P99_GOAL_MS / 2) {
      // An empty server near the goal means the machine, not serving, set the tail.
      console.log(
        `machine too busy to judge the p99 goal: the empty server's own p99 is ${calibration.latency.p99.toFixed(1)} ms; rerun on a quiet machine`,
      );
    }
  } finally {
    for (const child of children) {
      if (child.pid && child.exitCode === null) {
        try {
          process.kill(child === mlflowChild ? -child.pid : child.pid, 'SIGTERM');
        } catch {}
      }
    }
    await redisServer.stop();
    await natsServer.stop();
    await rm(dir, { recursive: true, force: true });
  }
}

await main();
