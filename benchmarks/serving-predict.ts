/**
 * POST /v1/predict (features from Redis, warm onnxruntime-node session, occlusion attribution)
 * against the same ONNX model behind `mlflow models serve --env-manager local`, with the same
 * load generator (autocannon) on loopback: the most each answers, and latency at 1,000 req/s.
 * Goals: p99 < 10 ms at 1,000 req/s, and >= 5x the throughput of mlflow models serve.
 *
 *   node_modules/.bin/tsx benchmarks/serving-predict.ts
 *
 * Both servers run as their own processes; this process only generates load.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { cp, mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { loadavg, tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { FEATURE_SET_VERSION, freePort, onlineFeatureKey, startRedis } from '@reefguard/core';
import autocannon from 'autocannon';

const ROOT = resolve(import.meta.dirname, '..');
const MODEL = join(ROOT, 'serving/test/fixtures/models/v1');
const VENV_BIN = join(ROOT, 'trainer/.venv/bin');
const SITES = 200;
const DURATION_S = 10;
const CONNECTIONS = Number(process.env.BENCH_CONNECTIONS ?? 16);
const RATE = 1_000;

if (process.argv[2] === '--server') {
  // Child mode: the real `./reefguard serve` entry, configured by the environment.
  const { run } = await import('@reefguard/serving/cli');
  process.exitCode = await run([]);
} else {
  await main();
}

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

function run(options: autocannon.Options): Promise<autocannon.Result> {
  return new Promise((done, fail) => {
    autocannon(options, (error, result) => (error ? fail(error) : done(result)));
  });
}

async function main() {
  const loadBefore = loadavg()[0] as number;
  const dir = await mkdtemp(join(tmpdir(), 'reefguard-bench-'));
  const children: ChildProcess[] = [];
  const redisServer = await startRedis({ dataDir: join(dir, 'redis') });
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
    const ours = spawn(process.execPath, ['--import', 'tsx', import.meta.filename, '--server'], {
      cwd: ROOT,
      stdio: ['ignore', 'ignore', 'inherit'],
      env: {
        ...process.env,
        NODE_OPTIONS: '--conditions=source',
        REEFGUARD_REDIS_URL: redisServer.url,
        REEFGUARD_STATE_DIR: join(dir, 'state'),
        REEFGUARD_PORT: String(oursPort),
        REEFGUARD_LOG_LEVEL: 'warn',
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
    const mlflowRequest: autocannon.Request = {
      method: 'POST',
      path: '/invocations',
      headers: { 'content-type': 'application/json' },
      setupRequest: (request) => {
        const f = features((n++ % SITES) + 1);
        const row = [
          'dhw',
          'dhw_max_ytd',
          'hotspot',
          'sst_anomaly',
          'turbidity_zscore',
          'depth_m',
        ].map((k) => Number(f[k]));
        return { ...request, body: JSON.stringify({ inputs: [row] }) };
      },
    };
    const targets = [
      { name: 'reefguard /v1/predict', url: oursUrl, request: oursRequest },
      { name: 'mlflow models serve', url: mlflowUrl, request: mlflowRequest },
    ];
    const results: Record<string, { max: autocannon.Result; paced: autocannon.Result }> = {};
    for (const target of process.env.BENCH_ONLY_OURS ? targets.slice(0, 1) : targets) {
      const base = { url: target.url, requests: [target.request], connections: CONNECTIONS };
      await run({ ...base, duration: 2 });
      const max = await run({ ...base, duration: DURATION_S });
      const paced = await run({ ...base, duration: DURATION_S, overallRate: RATE });
      results[target.name] = { max, paced };
    }

    const line = (name: string) => {
      const { max, paced } = results[name] as { max: autocannon.Result; paced: autocannon.Result };
      const failed =
        max.errors + max.non2xx + max.timeouts + paced.errors + paced.non2xx + paced.timeouts;
      return `| ${name} | ${max.requests.average.toFixed(0)} | ${paced.requests.average.toFixed(0)} | ${paced.latency.p50} | ${paced.latency.p99} | ${failed} |`;
    };
    if (process.env.BENCH_ONLY_OURS) {
      const metrics = await (await fetch(`${oursUrl}/metrics`)).text();
      console.log(line(targets[0]?.name as string));
      console.log(
        metrics
          .split('\n')
          .filter((l) => l.startsWith('reefguard_inference_latency_seconds_bucket'))
          .join('\n'),
      );
      return;
    }
    const ours_ = results[targets[0]?.name as string] as {
      max: autocannon.Result;
      paced: autocannon.Result;
    };
    const theirs = results[targets[1]?.name as string] as {
      max: autocannon.Result;
      paced: autocannon.Result;
    };
    // The machine may be shared: the 1-minute load average says how busy it was.
    console.log(
      `\nload average (1 min): ${loadBefore.toFixed(1)} before, ${(loadavg()[0] as number).toFixed(1)} after`,
    );
    console.log(
      `${CONNECTIONS} connections, ${DURATION_S} s per run, ${SITES} sites, same ONNX model (serving/test/fixtures/models/v1), loopback`,
    );
    console.log(
      '| server | max req/s | paced req/s (target 1000) | p50 ms at 1000/s | p99 ms at 1000/s | failed |',
    );
    console.log('|---|---|---|---|---|---|');
    console.log(line(targets[0]?.name as string));
    console.log(line(targets[1]?.name as string));
    const ratio = ours_.max.requests.average / theirs.max.requests.average;
    console.log(`\nthroughput ratio reefguard / mlflow: ${ratio.toFixed(1)}x (goal >= 5x)`);
    console.log(`reefguard p99 at ${RATE} req/s: ${ours_.paced.latency.p99} ms (goal < 10 ms)`);
  } finally {
    for (const child of children) {
      if (child.pid && child.exitCode === null) {
        try {
          process.kill(
            child.spawnargs.includes('serve') && child.spawnargs.includes('models')
              ? -child.pid
              : child.pid,
            'SIGTERM',
          );
        } catch {}
      }
    }
    await redisServer.stop();
    await rm(dir, { recursive: true, force: true });
  }
}
