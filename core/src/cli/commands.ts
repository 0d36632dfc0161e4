/**
 * The workspace CLI's command table, in data-flow order (sources -> transport -> features ->
 * stores -> model -> serving -> monitoring). Each command lives in the package that owns it
 * and is loaded only when called, so `--help` stays fast and packages stay independent.
 */
export interface CommandSpec {
  name: string;
  summary: string;
  usage: string;
  /** Module exporting `run(args: string[]): Promise<number>`, resolved from the workspace root. */
  module?: string;
  /** Or a trainer stage, run in the trainer's Python environment. */
  python?: string;
}

export const COMMANDS: readonly CommandSpec[] = [
  {
    name: 'services',
    summary:
      'start, stop or show the private Mosquitto, NATS JetStream, Redis, Prometheus and Alertmanager on loopback',
    usage: 'services start [--with mlflow] [--without monitoring]|stop|status|env',
    module: '@reefguard/core/cli/services',
  },
  {
    name: 'schemas',
    summary: 'write the JSON Schema of every message contract',
    usage: 'schemas [--out DIR]',
    module: '@reefguard/core/cli/schemas',
  },
  {
    name: 'topics',
    summary: 'print the topic table: topic, payload schema, producer, consumers',
    usage: 'topics',
    module: '@reefguard/core/cli/topics',
  },
  {
    name: 'edge-agent',
    summary: 'run the buoy-gateway daemon: sensors -> durable queue -> MQTT/NATS, local alerts',
    usage: 'edge-agent --config PATH [--once]',
    module: '@reefguard/edge-agent/cli',
  },
  {
    name: 'heat-stress',
    summary: 'NOAA CRW HotSpot, DHW and alert levels from an SST series (CSV, NetCDF, CRW station)',
    usage: 'heat-stress --sst PATH [--mmm VALUE | --climatology PATH] --out PATH.csv [--report]',
    module: '@reefguard/core/cli/heat-stress',
  },
  {
    name: 'stream-processor',
    summary: 'readings into event-time daily features in DuckDB and Redis, drift and Slack alerts',
    usage: 'stream-processor [--source jetstream|mqtt] [--instance NAME] [--card PATH]',
    module: '@reefguard/stream-processor/cli',
  },
  {
    name: 'ingest',
    summary:
      'fetch satellite products (MODIS L3m SST, NOAA CRW 5 km / virtual stations, Sentinel-2 L2A turbidity) and sample them at every site',
    usage:
      'ingest modis|crw|crw-vs|sentinel2 --start YYYY-MM-DD --end YYYY-MM-DD [--base-url URL] [--publish]',
    module: '@reefguard/stream-processor/cli/ingest',
  },
  {
    name: 'replay',
    summary: 'write a GBR bleaching season as MODIS L3m files and publish its buoy readings',
    usage: 'replay --season YEAR [--out DIR] [--buoys N]',
    module: '@reefguard/stream-processor/cli/replay',
  },
  {
    name: 'features',
    summary:
      "export a training set (features joined point-in-time with observations); write the sites' static/yearly features to the online store",
    usage:
      'features export [--observations PATH]... [--sample-data] [--out DIR] | features context [--year YYYY] [--data-dir DIR]',
    module: '@reefguard/stream-processor/cli/features',
  },
  {
    name: 'evaluate',
    summary: 'score a model and the CRW baseline on an observation file of any year',
    usage: 'evaluate --observations PATH [--model VERSION|ALIAS|DIR] [--json] [--html FILE]',
    module: '@reefguard/stream-processor/cli/evaluate',
  },
  {
    name: 'train',
    summary: 'train the XGBoost + ViT ensemble, export ONNX, register (model store and MLflow)',
    usage: 'train [--training-set DIR | --sample-data] [--trials N] [--json] [--no-mlflow]',
    python: 'train',
  },
  {
    name: 'tune',
    summary: 'Optuna TPE search over XGBoost and ViT knobs (SQLite or PostgreSQL study)',
    usage: 'tune [--training-set DIR | --sample-data] [--trials N] [--storage URL]',
    python: 'tune',
  },
  {
    name: 'retrain-worker',
    summary: 'retrain on requests from NATS JetStream, de-duplicated by request id',
    usage: 'retrain-worker [--training-set DIR]',
    python: 'retrain-worker',
  },
  {
    name: 'serve',
    summary: 'serve predictions, the risk map, metrics and the canary over HTTP (Fastify)',
    usage: 'serve [--host HOST] [--port PORT]',
    module: '@reefguard/serving/cli',
  },
  {
    name: 'promote',
    summary: 'move a registered model to challenger or champion if the promotion policy passes',
    usage: 'promote [--to challenger|champion] [--version N] [--dry-run]',
    module: '@reefguard/serving/cli/promote',
  },
  {
    name: 'rollback',
    summary: 'end the canary, or put the champion back on the version it replaced',
    usage: 'rollback [--reason TEXT]',
    module: '@reefguard/serving/cli/rollback',
  },
  {
    name: 'rollout',
    summary: 'serve, and turn retrain results into challenger, canary, promotion or rollback',
    usage: 'rollout [--host HOST] [--port PORT]',
    module: '@reefguard/serving/cli/rollout',
  },
  {
    name: 'trace',
    summary: 'print one closed loop in order: drift, retrain, decisions, announcements, audit',
    usage: 'trace TRACE_ID [--json]',
    module: '@reefguard/serving/cli/trace',
  },
  {
    name: 'report',
    summary: 'write the run report: risk map, skill vs CRW, drift, canary, lineage, counts (HTML)',
    usage: 'report [--state-dir DIR] [--out FILE.html] [--mlflow URL]',
    module: '@reefguard/report/cli',
  },
  {
    name: 'demo',
    summary: 'the main job: stack, first model, edge agents replaying a heat wave, loop, report',
    usage: 'demo [--state-dir DIR] [--season YEAR] [--gateways N] [--quick] [--keep]',
    module: '@reefguard/report/cli/demo',
  },
];
