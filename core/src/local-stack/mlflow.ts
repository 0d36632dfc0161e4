import { type ChildProcess, spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdir, open, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { workspaceRoot } from '../cli/workspace.js';
import { TransportError } from '../errors.js';
import { freePort, type LocalServer } from './process.js';

/** MLflow starts in ~10 s on an idle 2-core machine, far slower on a busy one. */
export const DEFAULT_MLFLOW_READY_TIMEOUT_MS = 120_000;

export interface MlflowOptions {
  /** Folder for the SQLite backend store, the artifacts and the log; created if missing. */
  dataDir: string;
  port?: number;
  /** Keep running after this Node process exits (for `reefguard services start`). */
  detached?: boolean;
  /** The `mlflow` executable; default: the trainer's virtual environment. */
  executable?: string;
  readyTimeoutMs?: number;
}

/** The trainer's `mlflow`, which `make` installs into trainer/.venv. */
export function defaultMlflowExecutable(): string {
  return join(workspaceRoot(), 'trainer', '.venv', 'bin', 'mlflow');
}

/**
 * A real `mlflow server` on a free loopback port: SQLite backend store, artifacts proxied by
 * the server (`mlflow-artifacts:/` URIs, so clients need no artifact-store access). It runs
 * in its own process group: stop and kill reach its uvicorn workers too.
 */
export async function startMlflow(options: MlflowOptions): Promise<LocalServer> {
  const executable = options.executable ?? defaultMlflowExecutable();
  if (!existsSync(executable)) {
    throw new TransportError(
      `${executable} is missing: create the trainer environment first (make bootstrap)`,
    );
  }
  const port = options.port ?? (await freePort());
  const url = `http://127.0.0.1:${port}`;
  const { dataDir } = options;
  const logPath = join(dataDir, 'mlflow.log');
  const timeoutMs = options.readyTimeoutMs ?? DEFAULT_MLFLOW_READY_TIMEOUT_MS;

  async function launch(): Promise<ChildProcess> {
    await mkdir(join(dataDir, 'artifacts'), { recursive: true });
    const log = await open(logPath, 'a');
    const child = spawn(
      executable,
      [
        'server',
        '--backend-store-uri',
        `sqlite:///${join(dataDir, 'mlflow.db')}`,
        '--artifacts-destination',
        join(dataDir, 'artifacts'),
        '--host',
        '127.0.0.1',
        '--port',
        String(port),
        '--workers',
        '1',
      ],
      { stdio: ['ignore', log.fd, log.fd], detached: true },
    );
    await log.close();
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      try {
        if ((await fetch(`${url}/health`)).ok) break;
      } catch {}
      if (Date.now() > deadline || child.exitCode !== null) {
        const tail = (await readFile(logPath, 'utf8').catch(() => '')).slice(-2000);
        if (child.exitCode === null && child.pid) process.kill(-child.pid, 'SIGKILL');
        const why =
          child.exitCode === null
            ? `not healthy after ${timeoutMs} ms`
            : `exited with ${child.exitCode}`;
        throw new TransportError(`mlflow server ${why}; log ${logPath}:\n${tail}`);
      }
      await sleep(200);
    }
    if (options.detached) child.unref();
    return child;
  }

  async function terminate(target: ChildProcess, signal: NodeJS.Signals) {
    if (target.exitCode !== null || target.signalCode !== null || !target.pid) return;
    const exited = new Promise((resolve) => target.once('exit', resolve));
    process.kill(-target.pid, signal);
    await exited;
  }

  let child = await launch();
  return {
    name: 'mlflow',
    url,
    port,
    dataDir,
    get pid() {
      return child.pid ?? -1;
    },
    stop: () => terminate(child, 'SIGTERM'),
    kill: () => terminate(child, 'SIGKILL'),
    async restart() {
      await terminate(child, 'SIGTERM');
      child = await launch();
    },
  };
}
