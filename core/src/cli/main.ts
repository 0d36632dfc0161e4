import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { COMMANDS, type CommandSpec } from './commands.js';
import { workspaceRoot } from './workspace.js';

/** What every command module exports. Returns the process exit code. */
export type CommandRun = (args: string[]) => Promise<number>;

function renderHelp(): string {
  const width = Math.max(...COMMANDS.map((c) => c.name.length));
  const lines = COMMANDS.map((c) => `  ${c.name.padEnd(width)}  ${c.summary}`);
  return [
    'ReefGuard AI: coral-bleaching risk from buoys and satellites',
    '',
    'usage: ./reefguard <command> [options]',
    '',
    'commands, in data-flow order:',
    ...lines,
    '',
    'Run ./reefguard <command> --help for the options of one command.',
    'Settings are REEFGUARD_* environment variables (see README).',
  ].join('\n');
}

async function runPython(spec: CommandSpec, args: string[]): Promise<number> {
  const python = join(workspaceRoot(), 'trainer', '.venv', 'bin', 'python');
  if (!existsSync(python)) {
    console.error('the trainer environment is missing: run `make bootstrap` first');
    return 2;
  }
  const child = spawn(python, ['-m', 'reefguard_trainer', spec.python ?? spec.name, ...args], {
    stdio: 'inherit',
  });
  return new Promise((resolve) => child.once('exit', (code) => resolve(code ?? 1)));
}

/** Dispatches `argv` (without node and script) to its command; returns the exit code. */
export async function main(argv: string[]): Promise<number> {
  const [name, ...args] = argv;
  if (name === undefined || name === '--help' || name === '-h' || name === 'help') {
    console.log(renderHelp());
    return name === undefined ? 2 : 0;
  }
  const spec = COMMANDS.find((c) => c.name === name);
  if (!spec) {
    console.error(`unknown command "${name}"\n\n${renderHelp()}`);
    return 2;
  }
  if (args.includes('--help') || args.includes('-h')) {
    console.log(`usage: ./reefguard ${spec.usage}\n\n${spec.summary}`);
    return 0;
  }
  if (spec.python !== undefined) return runPython(spec, args);
  const { run } = (await import(spec.module as string)) as { run: CommandRun };
  return run(args);
}
