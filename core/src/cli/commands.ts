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
    summary: 'start, stop or show the private Mosquitto, NATS JetStream and Redis on loopback',
    usage: 'services start|stop|status|env',
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
];
