/**
 * Edge agent: sustained publish rate through the durable outbox to each broker, acknowledged
 * (MQTT QoS 1 PUBACK, JetStream publish ack), against the same publisher fed straight from
 * memory with no queue (the baseline: what the queue costs). Then the resident memory of the
 * real agent process (built CLI) draining readings to both brokers with a model loaded,
 * against the same agent without a model.
 * Goals: >= 5,000 readings/s to each broker; agent RSS < 150 MB with a model loaded.
 *
 *   node_modules/.bin/tsx benchmarks/edge-throughput.ts
 */
import { execFileSync, spawn } from 'node:child_process';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { loadavg, tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { startMosquitto, startNats } from '@reefguard/core';
import {
  connectMqttLink,
  connectNatsLink,
  createAgentLogger,
  createForwarder,
  createMemoryOutbox,
  generateReadings,
  type Outbox,
  type OutboxMessage,
  openFileOutbox,
  type Publisher,
} from '../edge-agent/src/index.js';

const ROOT = resolve(import.meta.dirname, '..');
const N = 50_000;
const BATCH = 500;
const logger = createAgentLogger({ level: 'silent' });
const dir = await mkdtemp(join(tmpdir(), 'edge-bench-'));
const mosquitto = await startMosquitto({ dataDir: join(dir, 'mosquitto') });
const nats = await startNats({ dataDir: join(dir, 'nats') });

function messages(stationId: string): OutboxMessage[] {
  return generateReadings({
    siteId: '18-054',
    stationId,
    count: N,
    startAt: '2024-01-01T00:00:00Z',
    intervalMs: 60_000,
  }).map((r) => ({
    id: r.id,
    kind: 'reading',
    siteId: r.site_id,
    stationId: r.station_id,
    body: JSON.stringify(r),
  }));
}

async function connected(publisher: Publisher) {
  while (!publisher.isConnected()) await sleep(20);
  return publisher;
}

/** Appends in source-sized batches while the forwarder drains; time until all are acked. */
async function throughQueue(outbox: Outbox, publisher: Publisher, all: OutboxMessage[]) {
  const forwarder = createForwarder({ outbox, publishers: [publisher], logger, batchSize: BATCH });
  const stop = new AbortController();
  const started = performance.now();
  const draining = forwarder.run(stop.signal);
  for (let i = 0; i < all.length; i += BATCH) {
    await outbox.append(all.slice(i, i + BATCH));
    forwarder.notify();
  }
  while (forwarder.acked() < all.length) await sleep(2);
  const seconds = (performance.now() - started) / 1000;
  stop.abort();
  await draining;
  await outbox.close();
  return all.length / seconds;
}

async function direct(publisher: Publisher, all: OutboxMessage[]) {
  const started = performance.now();
  for (let i = 0; i < all.length; i += BATCH) {
    const batch = all.slice(i, i + BATCH).map((m, j) => ({ ...m, seq: i + j, enqueuedAtMs: 0 }));
    await publisher.publish(batch);
  }
  return all.length / ((performance.now() - started) / 1000);
}

const rows: string[][] = [];
const fmt = (n: number) => Math.round(n).toLocaleString('en-US');
for (const broker of ['mqtt', 'nats'] as const) {
  const open = (agentId: string) =>
    broker === 'mqtt'
      ? connectMqttLink({ url: mosquitto.url, agentId })
      : connectNatsLink({
          url: nats.url,
          agentId,
          ensureStream: { name: 'BENCH', duplicateWindowMs: 120_000 },
        });
  for (const fsync of ['interval', 'always'] as const) {
    const publisher = await connected(open(`bench-${broker}-${fsync}`));
    const outbox = await openFileOutbox({ dir: join(dir, `outbox-${broker}-${fsync}`), fsync });
    const ours = await throughQueue(outbox, publisher, messages(`${broker}-${fsync}`));
    await publisher.close();
    const baselinePublisher = await connected(open(`bench-${broker}-direct-${fsync}`));
    const baseline = await direct(baselinePublisher, messages(`${broker}-direct-${fsync}`));
    await baselinePublisher.close();
    rows.push([
      broker,
      `file outbox, fsync ${fsync}`,
      fmt(ours),
      fmt(baseline),
      (ours / baseline).toFixed(2),
    ]);
  }
  const publisher = await connected(open(`bench-${broker}-memory`));
  const ours = await throughQueue(createMemoryOutbox(), publisher, messages(`${broker}-memory`));
  await publisher.close();
  rows.push([broker, 'memory outbox (not durable)', fmt(ours), '-', '-']);
}

/** Runs the built agent CLI, waits until it has drained `count` readings, reads its memory. */
async function agentMemory(withModel: boolean, count: number, nodeFlags: string[]) {
  const tag = `${withModel}-${nodeFlags.length}`;
  const state = join(dir, `agent-${tag}`);
  const config = join(dir, `agent-${tag}.json`);
  await writeFile(
    config,
    JSON.stringify({
      AGENT_ID: `bench-rss-${tag}`,
      SITE_ID: '18-054',
      STATION_ID: `rss-${tag}`,
      STATE_DIR: state,
      MQTT_URL: mosquitto.url,
      NATS_URL: nats.url,
      NATS_STREAM: 'BENCH',
      SOURCE: 'replay',
      REPLAY_GENERATE_COUNT: count,
      MMM_C: 28,
      HEALTH_PORT: 0,
      HEARTBEAT_MS: 1000,
      LOG_LEVEL: 'info',
      ...(withModel ? { MODEL_DIR: join(ROOT, 'test/fixtures/models/v1') } : {}),
    }),
  );
  const started = performance.now();
  const child = spawn(
    process.execPath,
    [...nodeFlags, join(ROOT, 'core/dist/cli/bin.js'), 'edge-agent', '--config', config],
    {
      stdio: ['ignore', 'pipe', 'inherit'],
    },
  );
  let out = '';
  child.stdout.on('data', (chunk) => {
    out += String(chunk);
  });
  while (!/"health":"(http[^"]+)"/.test(out)) await sleep(50);
  const health = /"health":"(http[^"]+)"/.exec(out)?.[1] as string;
  for (;;) {
    const report = (await (await fetch(`${health}/healthz`)).json()) as {
      queue_depth: number;
      last_inference_at: string | null;
    };
    const metrics = await (await fetch(`${health}/metrics`)).text();
    const published = /reefguard_edge_readings_enqueued_total (\d+)/.exec(metrics)?.[1];
    if (Number(published) >= count && report.queue_depth === 0) break;
    await sleep(100);
  }
  const rate = count / ((performance.now() - started) / 1000);
  const status = await readFile(`/proc/${child.pid}/status`, 'utf8');
  const kb = (key: string) => Number(new RegExp(`${key}:\\s+(\\d+)`).exec(status)?.[1]) / 1024;
  child.kill('SIGTERM');
  await new Promise((done) => child.once('exit', done));
  return { rssMb: kb('VmRSS'), peakMb: kb('VmHWM'), rate };
}

execFileSync(join(ROOT, 'node_modules/.bin/tsc'), ['-b'], { cwd: ROOT, stdio: 'inherit' });
// The heap limits the systemd unit sets (infra/systemd/reefguard-edge-agent.service).
const UNIT_FLAGS = ['--max-old-space-size=96', '--max-semi-space-size=1'];
const runs = [
  { name: 'with model v1, unit heap limits', result: await agentMemory(true, 20_000, UNIT_FLAGS) },
  { name: 'with model v1, Node defaults', result: await agentMemory(true, 20_000, []) },
  {
    name: 'baseline: without a model, unit heap limits',
    result: await agentMemory(false, 20_000, UNIT_FLAGS),
  },
];

await Promise.all([mosquitto.stop(), nats.stop()] as Promise<void>[]);
await rm(dir, { recursive: true, force: true });

console.log(
  `edge-throughput: ${N.toLocaleString('en-US')} readings per run, batches of ${BATCH}, acknowledged publishes`,
);
console.log(
  `load average at the end ${loadavg()
    .map((l) => l.toFixed(2))
    .join(' ')} on a shared 2-core machine\n`,
);
console.log(
  '| broker | ours: through | ours readings/s | baseline: direct from memory, readings/s | ratio |',
);
console.log('|---|---|---|---|---|');
for (const row of rows) console.log(`| ${row.join(' | ')} |`);
console.log(
  '\nagent process (built CLI, both brokers, 20,000 generated readings ingested and drained, health server, heartbeat):',
);
console.log(
  '| agent | RSS MB | peak RSS MB | end-to-end readings/s (start to drained, both brokers) |',
);
console.log('|---|---|---|---|');
for (const { name, result } of runs) {
  console.log(
    `| ${name} | ${result.rssMb.toFixed(1)} | ${result.peakMb.toFixed(1)} | ${fmt(result.rate)} |`,
  );
}
const [ours, , bare] = runs.map((r) => r.result) as [{ rssMb: number }, unknown, { rssMb: number }];
console.log(
  `ratio with/without model: ${(ours.rssMb / bare.rssMb).toFixed(2)}; goal < 150 MB with a model`,
);
