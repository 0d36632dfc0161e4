import { type ChildProcess, spawn } from 'node:child_process';
import { createWriteStream, existsSync } from 'node:fs';
import { mkdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { ReefGuardError } from '@reefguard/core';
import { COMMANDS } from '@reefguard/core/cli/commands';

/** A step of the demo failed; the message names it and ends with its log's last lines. */
export class DemoStepError extends ReefGuardError {}

export const DEFAULT_STOP_GRACE_MS = 15_000;
const PROGRESS_EVERY_MS = 15_000;

const RUN_MODULE =
  'const [mod, ...args] = process.argv.slice(1); const { run } = await import(mod); process.exitCode = await run(args);';

export interface Supervisor {
  /** Starts a long-running `./reefguard <command>`; its output goes to `<logDir>/<name>.log`. */
  start(name: string, command: string[], env?: Record<string, string>): ChildProcess;
  /** Runs a command to completion; throws a DemoStepError with the log's tail on failure. */
  run(
    name: string,
    command: string[],
    options?: {
      env?: Record<string, string>;
      timeoutMs?: number;
      onProgress?: (line: string) => void;
    },
  ): Promise<void>;
  /** True while the named long-running process is alive. */
  alive(name: string): boolean;
  /** SIGTERM to one, SIGKILL after the grace period; resolves with its exit code. */
  stop(name: string): Promise<number | null>;
  /** Stops everything still running, newest first; nothing starts after it. */
  stopAll(): Promise<void>;
  logPath(name: string): string;
}

/**
 * Owns every process the demo starts. Commands run as `./reefguard <command>` would, but
 * without the launcher: a TypeScript command through the built CLI, a trainer stage straight
 * in the trainer's Python (so a signal reaches the process that does the work).
 */
export function createSupervisor(options: {
  root: string;
  logDir: string;
  env: Record<string, string | undefined>;
  graceMs?: number;
}): Supervisor {
  const graceMs = options.graceMs ?? DEFAULT_STOP_GRACE_MS;
  const running = new Map<string, { child: ChildProcess; exited: Promise<number | null> }>();
  const logPath = (name: string) => join(options.logDir, `${name}.log`);
  // Once stopping began (Ctrl-C, failure), nothing new starts.
  let closing = false;

  function spawnCommand(name: string, command: string[], env: Record<string, string> = {}) {
    if (closing) throw new DemoStepError(`stopping: ${name} not started`);
    const [commandName, ...args] = command;
    const spec = COMMANDS.find((c) => c.name === commandName);
    const python = join(options.root, 'trainer/.venv/bin/python');
    // A module outside the command table (the demo's own helpers) runs through its `run`.
    const [file, argv] =
      spec?.python !== undefined
        ? [python, ['-m', 'reefguard_trainer', spec.python, ...args]]
        : commandName?.startsWith('@')
          ? [process.execPath, ['--input-type=module', '-e', RUN_MODULE, ...command]]
          : [process.execPath, [join(options.root, 'core/dist/cli/bin.js'), ...command]];
    if (spec?.python !== undefined && !existsSync(python)) {
      throw new DemoStepError(`${name}: the trainer environment is missing; run make bootstrap`);
    }
    const log = createWriteStream(logPath(name), { flags: 'a' });
    const child = spawn(file, argv, {
      cwd: options.root,
      // Python buffers a piped stdout: unbuffered, its progress reaches the log as it happens.
      env: { ...options.env, PYTHONUNBUFFERED: '1', ...env },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    child.stdout?.pipe(log, { end: false });
    child.stderr?.pipe(log, { end: false });
    const exited = new Promise<number | null>((resolve) => {
      child.once('error', () => resolve(-1));
      child.once('exit', (code, signal) => {
        log.end(`\n[exit ${code ?? signal}]\n`);
        resolve(code);
      });
    });
    return { child, exited };
  }

  async function tail(name: string, lines = 15): Promise<string> {
    const text = await readFile(logPath(name), 'utf8').catch(() => '');
    return text.trimEnd().split('\n').slice(-lines).join('\n');
  }

  async function stop(name: string): Promise<number | null> {
    const entry = running.get(name);
    if (!entry) return null;
    running.delete(name);
    if (entry.child.exitCode === null && entry.child.signalCode === null) {
      entry.child.kill('SIGTERM');
      const timer = setTimeout(() => entry.child.kill('SIGKILL'), graceMs);
      const code = await entry.exited;
      clearTimeout(timer);
      return code;
    }
    return entry.exited;
  }

  return {
    logPath,
    start(name, command, env) {
      if (running.has(name)) throw new DemoStepError(`${name} is already running`);
      const entry = spawnCommand(name, command, env);
      running.set(name, entry);
      return entry.child;
    },
    async run(name, command, runOptions = {}) {
      await mkdir(options.logDir, { recursive: true });
      const { child, exited } = spawnCommand(name, command, runOptions.env);
      running.set(name, { child, exited });
      const timer = runOptions.timeoutMs
        ? setTimeout(() => child.kill('SIGTERM'), runOptions.timeoutMs)
        : null;
      // Long steps show their newest log line now and then.
      let lastShown = '';
      const ticker = runOptions.onProgress
        ? setInterval(async () => {
            const line = (await tail(name, 1)).trim();
            if (!line || line === lastShown) return;
            lastShown = line;
            runOptions.onProgress?.(line.slice(0, 160));
          }, PROGRESS_EVERY_MS)
        : null;
      const code = await exited;
      if (timer) clearTimeout(timer);
      if (ticker) clearInterval(ticker);
      running.delete(name);
      if (code !== 0) {
        throw new DemoStepError(
          `${name} (./reefguard ${command.join(' ')}) exited with ${code}; log ${logPath(name)}:\n${await tail(name)}`,
        );
      }
    },
    alive: (name) => {
      const entry = running.get(name);
      return (
        entry !== undefined && entry.child.exitCode === null && entry.child.signalCode === null
      );
    },
    stop,
    async stopAll() {
      closing = true;
      for (const name of [...running.keys()].reverse()) await stop(name);
    },
  };
}
