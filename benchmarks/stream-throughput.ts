/**
 * Stream processor end to end: JetStream -> decode/check -> DuckDB + shared event-time state
 * -> daily features -> Redis online store, on private NATS and Redis.
 *
 * 1. Backlog drain: readings already in the stream, processed as fast as possible
 *    (batched, ours) vs one reading per commit (baseline: the unbatched design).
 * 2. Live: a separate publisher process at 20,000 and at 5,000 readings/s for 10 s each, after
 *    an unmeasured warm-up at the same rate (`--warmup S`, default 3);
 *    p50/p90/p99/max from publish (observed_at) to the batch's online (Redis) write, split into
 *    transit (publish -> arrival at the processor) and in-processor time, and a per-stage
 *    breakdown of the batches (decode, event state, features, online write, offline commit,
 *    ack) so a reader sees where the time goes. The processor runs as `./reefguard
 *    stream-processor` does: with CRW heat stress and the year-to-date DHW store. Baseline
 *    at each rate: the transport floor, a bare consumer (parse + ack) on the same NATS with
 *    the same publisher (`--no-floor` skips it).
 * 3. MQTT (private Mosquitto): QoS 1 readings through the shared subscription with ack after
 *    commit, a pool of sessions micro-batching (ours) vs one session, i.e. one message per
 *    commit (baseline: the first design).
 *
 * Ends with one table: goal, measured and baseline side by side, with the load average
 * (the numbers are only comparable on a quiet machine).
 *
 * Run: node_modules/.bin/tsx benchmarks/stream-throughput.ts [--phases drain,live,mqtt] [--no-heat]
 *      [--rates 20000,5000] [--warmup 3] [--no-floor]
 */
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { parseArgs } from 'node:util';
import { type JsMsg, jetstream } from '@nats-io/jetstream';
import { Secret, startMosquitto, startNats, startRedis } from '@reefguard/core';
import {
  type BatchOutcome,
  connectMqttPublisher,
  connectNats,
  connectRedis,
  createCrwHeatStress,
  createMqttSource,
  createSiteRegistry,
  createSubjectPublisher,
  ensureReadingsConsumer,
  STAGES,
  type Stage,
  startStreamProcessor,
} from '@reefguard/stream-processor';
import { generatedReading } from './stream-readings.js';

const SITES = 100;
const BACKLOG = 100_000;
const BASELINE_BACKLOG = 3_000;
const GOAL_RATE = 20_000;
const LIVE_SECONDS = 10;
const PHASES = ['drain', 'live', 'mqtt'] as const;

const { values: flags } = parseArgs({
  options: {
    phases: { type: 'string', default: PHASES.join(',') },
    // Without CRW heat stress and dhw_max_ytd, as the benchmark ran before they were added.
    'no-heat': { type: 'boolean', default: false },
    // Live rates to run (readings/s), e.g. --rates 5000 for the latency case alone (a profile).
    rates: { type: 'string', default: '20000,5000' },
    // The processor's batch linger (ms) in the live phase, e.g. --linger 5.
    linger: { type: 'string', default: '0' },
    // Least ms between the processor's offline commits in the live phase (its default if unset).
    'commit-interval': { type: 'string' },
    // Seconds published at the live rate before the measured window (JIT, consumer pull ramp).
    warmup: { type: 'string', default: '3' },
    // Skip the bare-consumer transport floor run after each live rate.
    'no-floor': { type: 'boolean', default: false },
  },
});
const phases = new Set(String(flags.phases).split(','));
for (const p of phases) {
  if (!(PHASES as readonly string[]).includes(p)) {
    throw new RangeError(`--phases: unknown phase "${p}"; pick from ${PHASES.join(', ')}`);
  }
}
const heat = flags['no-heat'] ? null : createCrwHeatStress();
const liveRates = String(flags.rates)
  .split(',')
  .map((text) => {
    const rate = Number(text);
    if (!Number.isInteger(rate) || rate <= 0) {
      throw new RangeError(`--rates: "${text}" is not a positive whole number of readings/s`);
    }
    return rate;
  });

const warmupSeconds = Number(flags.warmup);
if (!Number.isFinite(warmupSeconds) || warmupSeconds < 0) {
  throw new RangeError(`--warmup: "${flags.warmup}" is not a number of seconds >= 0`);
}

const dir = await mkdtemp(join(tmpdir(), 'stream-bench-'));
const nats = await startNats({ dataDir: join(dir, 'nats') });
const redisServer = await startRedis({ dataDir: join(dir, 'redis') });
const mosquitto = await startMosquitto({ dataDir: join(dir, 'mosquitto') });
const nc = await connectNats(nats.url);
const redis = await connectRedis(new Secret(redisServer.url));
const sites = createSiteRegistry(
  Array.from({ length: SITES }, (_, i) => ({
    siteId: `site-${i}`,
    lat: -18,
    lon: 147,
    mmmC: 28.6,
    monthlyMeanC: [28.4, 28.6, 28.2, 27.3, 25.9, 24.6, 23.9, 24.0, 24.9, 26.1, 27.2, 28.0],
  })),
);

async function preload(root: string, count: number) {
  const js = createSubjectPublisher(nc);
  let pending: Promise<unknown>[] = [];
  for (let i = 0; i < count; i++) {
    const reading = generatedReading(i, SITES);
    pending.push(js.publish(`${root}.${reading.site_id}`, JSON.stringify(reading)));
    if (pending.length >= 2000) {
      await Promise.all(pending);
      pending = [];
    }
  }
  await Promise.all(pending);
}

/**
 * Drains a preloaded backlog; returns readings/s. `serial`: each batch committed and acked before
 * the next is applied, commits unpaced (with maxBatch 1: one reading per commit, the baseline).
 */
async function drain(
  name: string,
  count: number,
  maxBatch: number,
  serial = false,
): Promise<number> {
  const root = `bench.${name}`;
  await ensureReadingsConsumer({
    nc,
    stream: `BENCH_${name.toUpperCase()}`,
    subjects: [`${root}.>`],
    durable: name,
  });
  await preload(root, count);
  let done = 0;
  let finish: () => void = () => undefined;
  const finished = new Promise<void>((resolve) => {
    finish = resolve;
  });
  const start = performance.now();
  const processor = await startStreamProcessor({
    nc,
    redis,
    sites,
    offlinePath: join(dir, `${name}.duckdb`),
    stream: `BENCH_${name.toUpperCase()}`,
    subjects: [`${root}.>`],
    durable: name,
    statePrefix: `bench:${name}:`,
    onlineKeyOf: (s) => `bench:${name}:features:${s}`,
    heat,
    maxBatch,
    ...(serial ? { maxInFlight: 0, offlineCommitIntervalMs: 0 } : {}),
    afterAck: (o) => {
      done += o.deliveries.length;
      if (done >= count) finish();
    },
  });
  await finished;
  const rate = count / ((performance.now() - start) / 1000);
  await processor.close();
  return rate;
}

/** Quantiles of a sample (sorted in place). */
function quantiles(values: number[]) {
  values.sort((a, b) => a - b);
  const q = (p: number) =>
    values[Math.min(values.length - 1, Math.floor(p * values.length))] ?? NaN;
  return { p50: q(0.5), p90: q(0.9), p99: q(0.99), max: values[values.length - 1] ?? NaN };
}
type Quantiles = ReturnType<typeof quantiles>;

/** Runs the publisher process at `rate`/s for `seconds` onto `root`; resolves to its CPU (us). */
async function publish(root: string, rate: number, seconds: number): Promise<number> {
  const publisher = spawn(
    process.execPath,
    [
      '--conditions=source',
      '--import',
      'tsx',
      'benchmarks/stream-publisher.ts',
      nats.url,
      root,
      String(SITES),
      String(rate),
      String(seconds),
    ],
    { stdio: ['ignore', 'pipe', 'inherit'] },
  );
  // The publisher's last line: what it sent and its own CPU time.
  let publisherUs = Number.NaN;
  publisher.stdout?.on('data', (chunk: Buffer) => {
    process.stdout.write(`  ${chunk}`);
    const cpu = /cpu (\d+) us/.exec(chunk.toString());
    if (cpu) publisherUs = Number(cpu[1]);
  });
  await once(publisher, 'exit');
  return publisherUs;
}

/** Waits until `count()` reaches `expected` (or a minute passes). */
async function until(count: () => number, expected: number) {
  const deadline = Date.now() + 60_000;
  while (count() < expected && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50));
}

/** Publish time (epoch ms) of a benchmark reading: its observed_at. */
function publishedMsOf(data: Uint8Array): number {
  const text = Buffer.from(data).toString();
  const at = text.indexOf('"observed_at":"');
  return Date.parse(text.slice(at + 15, at + 39));
}

/** What a live window measured, from the warm-up's end on. */
function liveWindow() {
  return {
    total: [] as number[],
    // Latency by second of the window (publish time): a transient apart from the steady state.
    bySecond: [] as number[][],
    publishStartMs: Number.NaN,
    transit: [] as number[],
    inside: [] as number[],
    stages: new Map<Stage, number[]>(STAGES.map((s) => [s, []])),
    batchSizes: [] as number[],
    done: 0,
    first: 0,
    last: 0,
    /** Records one reading's publish -> `nowMs` latency. */
    sample(publishedMs: number, receivedAtMs: number, nowMs: number) {
      this.total.push(nowMs - publishedMs);
      if (Number.isNaN(this.publishStartMs)) this.publishStartMs = publishedMs;
      const second = Math.max(0, Math.floor((publishedMs - this.publishStartMs) / 1000));
      const bucket = this.bySecond[second] ?? [];
      this.bySecond[second] = bucket;
      bucket.push(nowMs - publishedMs);
      this.transit.push(receivedAtMs - publishedMs);
      this.inside.push(nowMs - receivedAtMs);
    },
  };
}

/** CPU counters at the start of a measured window: this process, its event loop, NATS, Redis. */
async function cpuMark() {
  await redis.config('RESETSTAT');
  return {
    redis: redisCpuMicros(await redis.info('cpu')),
    nats: await processCpuMicros(nats.pid),
    loop: performance.eventLoopUtilization(),
    process: process.cpuUsage(),
  };
}

/**
 * Live phase: a publisher process at `rate`/s; returns the processed rate, publish -> online
 * latency (and its transit / in-processor parts) and the per-batch time of every stage. The
 * processor first takes `warmupSeconds` of readings at the same rate, unmeasured: a freshly
 * started process (JIT, the consumer's pull ramp) is not its steady state, and even a bare
 * consumer's first second has a p99 of 200-300 ms on this machine.
 */
async function live(rate: number, seconds: number) {
  const name = `live${rate}`;
  const root = `bench.${name}`;
  let w = liveWindow();
  let warmupDone = 0;
  let measuring = warmupSeconds === 0;
  const processor = await startStreamProcessor({
    nc,
    redis,
    sites,
    offlinePath: join(dir, `${name}.duckdb`),
    stream: `BENCH_LIVE${rate}`,
    lingerMs: Number(flags.linger),
    ...(flags['commit-interval'] === undefined
      ? {}
      : { offlineCommitIntervalMs: Number(flags['commit-interval']) }),
    subjects: [`${root}.>`],
    durable: name,
    statePrefix: `bench:${name}:`,
    onlineKeyOf: (s) => `bench:${name}:features:${s}`,
    heat,
    onStage: (stage, ms, readings) => {
      if (!measuring) return;
      w.stages.get(stage)?.push(ms);
      if (stage === 'decode') w.batchSizes.push(readings);
    },
    afterOnline: (o: BatchOutcome) => {
      if (!measuring) {
        warmupDone += o.deliveries.length;
        return;
      }
      const now = Date.now();
      if (w.first === 0) w.first = now;
      w.last = now;
      w.done += o.deliveries.length;
      // observed_at is the publish time (ms); sample every 10th reading.
      for (let i = 0; i < o.deliveries.length; i += 10) {
        const d = o.deliveries[i];
        if (d) w.sample(publishedMsOf(d.data), d.receivedAtMs, now);
      }
    },
  });
  if (!measuring) {
    await publish(root, rate, warmupSeconds);
    await until(() => warmupDone, rate * warmupSeconds);
    w = liveWindow();
    measuring = true;
  }
  const mark = await cpuMark();
  const publisherUs = await publish(root, rate, seconds);
  await until(() => w.done, rate * seconds);
  const loop = performance.eventLoopUtilization(mark.loop);
  const cpuUs = process.cpuUsage(mark.process);
  const redisUs = redisCpuMicros(await redis.info('cpu')) - mark.redis;
  const redisCommands = commandStats(await redis.info('commandstats'));
  const natsUs = (await processCpuMicros(nats.pid)) - mark.nats;
  await processor.close();
  const done = w.done;
  const stageStats = STAGES.map((stage) => {
    const ms = w.stages.get(stage) ?? [];
    const sum = ms.reduce((a, b) => a + b, 0);
    return { stage, batches: ms.length, meanMs: sum / Math.max(ms.length, 1), ...quantiles(ms) };
  });
  return {
    processed: done,
    rate: done / ((w.last - w.first) / 1000),
    latency: quantiles(w.total),
    perSecond: Array.from(w.bySecond, (ms) => quantiles(ms ?? [])),
    transit: quantiles(w.transit),
    inside: quantiles(w.inside),
    batch: { count: w.batchSizes.length, ...quantiles(w.batchSizes) },
    stageStats,
    // CPU per reading: this process (main thread + DuckDB thread), its event loop, Redis.
    cpuUsPerReading: (cpuUs.user + cpuUs.system) / Math.max(done, 1),
    loopUsPerReading: (loop.active * 1000) / Math.max(done, 1),
    loopUtilization: loop.utilization,
    redisUsPerReading: redisUs / Math.max(done, 1),
    natsUsPerReading: natsUs / Math.max(done, 1),
    // Redis time per command (a script's inner commands counted both in it and on their own).
    redisCommands: redisCommands.map((c) => ({ ...c, usPerReading: c.usec / Math.max(done, 1) })),
    publisherUsPerReading: publisherUs / Math.max(done, 1),
  };
}

/**
 * The transport floor at the same rate: a bare consumer on the same kind of durable (JSON parse
 * of each reading, one ack per reading sent after each turn of the event loop, nothing else),
 * with the same publisher and warm-up. Its latency and CPU are what NATS, the publisher and the
 * client library cost on this machine before any processing.
 */
async function floor(rate: number, seconds: number) {
  const name = `floor${rate}`;
  const root = `bench.${name}`;
  await ensureReadingsConsumer({
    nc,
    stream: `BENCH_FLOOR${rate}`,
    subjects: [`${root}.>`],
    durable: name,
  });
  const consumer = await jetstream(nc).consumers.get(`BENCH_FLOOR${rate}`, name);
  let w = liveWindow();
  let received = 0;
  let toAck: JsMsg[] = [];
  const flushAcks = () => {
    const batch = toAck;
    toAck = [];
    for (const m of batch) m.ack();
  };
  const messages = await consumer.consume({
    max_messages: 2000,
    callback: (m) => {
      const now = Date.now();
      const reading = JSON.parse(Buffer.from(m.data).toString()) as { observed_at: string };
      if (received % 10 === 0) {
        const publishedMs = Date.parse(reading.observed_at);
        w.sample(publishedMs, now, now);
      }
      received += 1;
      w.done += 1;
      toAck.push(m);
      if (toAck.length === 1) setImmediate(flushAcks);
    },
  });
  try {
    if (warmupSeconds > 0) {
      await publish(root, rate, warmupSeconds);
      await until(() => received, rate * warmupSeconds);
      w = liveWindow();
    }
    const mark = await cpuMark();
    const publisherUs = await publish(root, rate, seconds);
    await until(() => w.done, rate * seconds);
    const cpuUs = process.cpuUsage(mark.process);
    const natsUs = (await processCpuMicros(nats.pid)) - mark.nats;
    return {
      latency: quantiles(w.total),
      perSecond: Array.from(w.bySecond, (ms) => quantiles(ms ?? [])),
      consumerUsPerReading: (cpuUs.user + cpuUs.system) / Math.max(w.done, 1),
      natsUsPerReading: natsUs / Math.max(w.done, 1),
      publisherUsPerReading: publisherUs / Math.max(w.done, 1),
    };
  } finally {
    await messages.close();
  }
}

/** CPU time (user + system) of a process of this machine so far, microseconds (Linux /proc). */
async function processCpuMicros(pid: number): Promise<number> {
  const stat = await readFile(`/proc/${pid}/stat`, 'utf8').catch(() => null);
  if (stat === null) return Number.NaN;
  // Fields after the command name (which may hold spaces): utime and stime are the 12th and 13th.
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return ((Number(fields[11]) + Number(fields[12])) / 100) * 1e6;
}

/** Redis `INFO commandstats`: calls and microseconds per command, most time first. */
function commandStats(info: string): { command: string; calls: number; usec: number }[] {
  const rows = [...info.matchAll(/^cmdstat_([^:]+):calls=(\d+),usec=(\d+)/gm)].map((m) => ({
    command: m[1] as string,
    calls: Number(m[2]),
    usec: Number(m[3]),
  }));
  return rows.sort((a, b) => b.usec - a.usec);
}

/** CPU time of the Redis server process so far (INFO cpu: user + system), microseconds. */
function redisCpuMicros(info: string): number {
  const field = (name: string) =>
    Number(new RegExp(`^${name}:([\\d.]+)`, 'm').exec(info)?.[1] ?? 0);
  return (field('used_cpu_user') + field('used_cpu_sys')) * 1e6;
}

const fmt = (q: Quantiles, digits = 0) =>
  `p50 ${q.p50.toFixed(digits)}  p90 ${q.p90.toFixed(digits)}  p99 ${q.p99.toFixed(digits)}  max ${q.max.toFixed(digits)}`;

function printLive(
  rate: number,
  seconds: number,
  l: Awaited<ReturnType<typeof live>>,
  f: Awaited<ReturnType<typeof floor>> | null,
) {
  console.log(
    `live at ${rate}/s for ${seconds} s after a ${warmupSeconds} s warm-up (publisher in its own process):`,
  );
  console.log(`  processed ${l.processed} of ${rate * seconds}, ${l.rate.toFixed(0)} readings/s`);
  console.log(`  publish -> online write, ms : ${fmt(l.latency)}   goal p99 < 50`);
  console.log(
    `      p99 by second of the run : ${l.perSecond.map((q) => q.p99.toFixed(0)).join(' ')}`,
  );
  console.log(`    transit to the processor  : ${fmt(l.transit)}`);
  console.log(`    arrival -> online write   : ${fmt(l.inside)}`);
  if (f) {
    console.log(
      `  transport floor (bare consumer: parse + ack), publish -> receipt, ms: ${fmt(f.latency)}`,
    );
    console.log(
      `      p99 by second of the run : ${f.perSecond.map((q) => q.p99.toFixed(0)).join(' ')}`,
    );
    console.log(
      `      CPU per reading, us: consumer ${f.consumerUsPerReading.toFixed(1)}, NATS server ${f.natsUsPerReading.toFixed(1)}, publisher ${f.publisherUsPerReading.toFixed(1)}`,
    );
  }
  console.log(`  batches ${l.batch.count}, readings per batch: ${fmt(l.batch)}`);
  console.log(
    `  CPU per reading, us: processor ${l.cpuUsPerReading.toFixed(1)} (event loop ${l.loopUsPerReading.toFixed(1)}, ${(100 * l.loopUtilization).toFixed(0)} % busy), Redis ${l.redisUsPerReading.toFixed(1)}, NATS server ${l.natsUsPerReading.toFixed(1)}, publisher ${l.publisherUsPerReading.toFixed(1)}`,
  );
  console.log(
    `  Redis time per reading, us (scripts include their commands): ${l.redisCommands
      .slice(0, 8)
      .map((c) => `${c.command} ${c.usPerReading.toFixed(1)}`)
      .join(', ')}`,
  );
  console.log('  stage (per batch, ms)        mean     p50     p99     max  batches');
  for (const s of l.stageStats) {
    // offline_wait: only the batches that waited for DuckDB (the loop stood still).
    console.log(
      `    ${s.stage.padEnd(24)} ${s.meanMs.toFixed(2).padStart(7)} ${s.p50.toFixed(2).padStart(7)} ${s.p99.toFixed(2).padStart(7)} ${s.max.toFixed(2).padStart(7)} ${String(s.batches).padStart(8)}`,
    );
  }
}

/** MQTT: `count` QoS 1 readings published at once; readings/s until all are committed. */
async function mqttDrain(name: string, count: number, connections: number): Promise<number> {
  const root = `bench/${name}`;
  let done = 0;
  let finish: () => void = () => undefined;
  const finished = new Promise<void>((resolve) => {
    finish = resolve;
  });
  const source = await createMqttSource({
    url: mosquitto.url,
    group: `bench-${name}`,
    clientId: `bench-${name}`,
    filter: `${root}/#`,
    connections,
  });
  const processor = await startStreamProcessor({
    redis,
    sites,
    offlinePath: join(dir, `${name}.duckdb`),
    source,
    sourceName: 'mqtt',
    statePrefix: `bench:${name}:`,
    heat,
    onlineKeyOf: (s) => `bench:${name}:features:${s}`,
    afterAck: (o) => {
      done += o.deliveries.length;
      if (done >= count) finish();
    },
  });
  const publisher = await connectMqttPublisher(mosquitto.url, `pub-${name}`);
  const start = performance.now();
  const sends: Promise<unknown>[] = [];
  for (let i = 0; i < count; i++) {
    const reading = generatedReading(i, SITES);
    sends.push(
      publisher.publish(
        `${root}/${reading.site_id}/${reading.station_id}`,
        JSON.stringify(reading),
      ),
    );
  }
  await Promise.all(sends);
  await finished;
  const rate = count / ((performance.now() - start) / 1000);
  await publisher.close();
  await processor.close();
  return rate;
}

const MQTT_COUNT = 20_000;
const MQTT_BASELINE_COUNT = 1_000;

const [startLoad] = loadavg();
console.log(
  `load average at start ${startLoad?.toFixed(1)} (2 cores; numbers only compare on a quiet machine); heat stress ${heat ? 'on' : 'off (--no-heat)'}`,
);
const rows: [string, string, string, string][] = [];
try {
  if (phases.has('drain')) {
    const baseline = await drain('baseline', BASELINE_BACKLOG, 1, true);
    const ours = await drain('batched', BACKLOG, 2000);
    console.log(`backlog drain, ${SITES} sites:`);
    console.log(`  ours (batched commits) : ${ours.toFixed(0)} readings/s over ${BACKLOG}`);
    console.log(
      `  baseline (1 per commit): ${baseline.toFixed(0)} readings/s over ${BASELINE_BACKLOG}`,
    );
    console.log(
      `  ratio                  : ${(ours / baseline).toFixed(1)}x   goal >= ${GOAL_RATE}/s`,
    );
    rows.push([
      'JetStream backlog drain, readings/s',
      '>= 20000',
      ours.toFixed(0),
      `${baseline.toFixed(0)} (1 per commit)`,
    ]);
  }
  if (phases.has('live')) {
    // 20,000/s is the throughput goal; 5,000/s shows the latency where the machine has room to
    // spare, so it is not just the backlog's age.
    for (const rate of liveRates) {
      const l = await live(rate, LIVE_SECONDS);
      const f = flags['no-floor'] ? null : await floor(rate, LIVE_SECONDS);
      printLive(rate, LIVE_SECONDS, l, f);
      if (rate === GOAL_RATE) {
        rows.push([`live ${rate}/s: processed readings/s`, '>= 20000', l.rate.toFixed(0), '-']);
      }
      rows.push([
        `live ${rate}/s: p99 publish -> online, ms`,
        '< 50',
        String(l.latency.p99),
        f ? `${f.latency.p99} (bare consumer)` : '-',
      ]);
    }
  }
  if (phases.has('mqtt')) {
    const mqttBaseline = await mqttDrain('mqtt1', MQTT_BASELINE_COUNT, 1);
    const mqttOurs = await mqttDrain('mqtt32', MQTT_COUNT, 32);
    rows.push([
      'MQTT QoS 1 drain (32 sessions), readings/s',
      '-',
      mqttOurs.toFixed(0),
      `${mqttBaseline.toFixed(0)} (1 session)`,
    ]);
  }
  const [load1, load5] = loadavg();
  const row = (metric: string, goal: string, measured: string, base: string) =>
    console.log(
      `${metric.padEnd(44)} ${goal.padStart(10)} ${measured.padStart(10)} ${base.padStart(22)}`,
    );
  console.log(
    `\nsummary (load average ${load1?.toFixed(1)} / ${load5?.toFixed(1)} on 2 shared cores; re-run on a quiet machine)`,
  );
  row('metric', 'goal', 'measured', 'baseline');
  for (const r of rows) row(...r);
} finally {
  await nc.close();
  await redis.quit();
  await nats.stop();
  await redisServer.stop();
  await mosquitto.stop();
  await rm(dir, { recursive: true, force: true });
}
