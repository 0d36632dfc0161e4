import { type ChildProcess, spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdir, open } from 'node:fs/promises';
import { connect, createServer } from 'node:net';
import { delimiter, join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { TransportError } from '../errors.js';

/** Debian puts mosquitto and nats-server in /usr/sbin, which is not on every user's PATH. */
const EXTRA_BIN_DIRS = ['/usr/sbin', '/usr/local/sbin'];

export const DEFAULT_READY_TIMEOUT_MS = 15_000;

/** Finds an executable on PATH (plus the sbin folders), or explains how to install it. */
export function findExecutable(name: string, debianPackage: string): string {
  const dirs = [...(process.env.PATH ?? '').split(delimiter), ...EXTRA_BIN_DIRS];
  for (const dir of dirs) {
    const candidate = join(dir, name);
    if (dir && existsSync(candidate)) return candidate;
  }
  throw new TransportError(
    `${name} is not installed: run infra/local/install-services.sh (apt-get install ${debianPackage})`,
  );
}

/** Asks the kernel for a free loopback port. */
export async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', resolve);
  });
  const address = server.address();
  await new Promise((resolve) => server.close(resolve));
  if (address === null || typeof address === 'string') throw new Error('no port assigned');
  return address.port;
}

/** Resolves once something accepts TCP connections on the port. */
export async function waitForPort(port: number, timeoutMs = DEFAULT_READY_TIMEOUT_MS) {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    const ok = await new Promise<boolean>((resolve) => {
      const socket = connect({ host: '127.0.0.1', port });
      socket.once('connect', () => {
        socket.destroy();
        resolve(true);
      });
      socket.once('error', () => resolve(false));
    });
    if (ok) return;
    await sleep(50);
  }
  throw new TransportError(`nothing listens on 127.0.0.1:${port} after ${timeoutMs} ms`);
}

/** A private server process on loopback, owned by whoever started it. */
export interface LocalServer {
  readonly name: string;
  readonly url: string;
  readonly port: number;
  readonly dataDir: string;
  readonly pid: number;
  /** Graceful stop (SIGTERM), waiting for exit. */
  stop(): Promise<void>;
  /** Hard kill (SIGKILL), as a crash or power loss would. */
  kill(): Promise<void>;
  /** Starts the same server again on the same port and data directory. */
  restart(): Promise<void>;
}

export interface ServerSpec {
  name: string;
  executable: string;
  args: string[];
  port: number;
  dataDir: string;
  url: string;
  /** Keep running after this Node process exits (for `reefguard services start`). */
  detached?: boolean;
}

async function launch(spec: ServerSpec): Promise<ChildProcess> {
  await mkdir(spec.dataDir, { recursive: true });
  const log = await open(join(spec.dataDir, `${spec.name}.log`), 'a');
  const child = spawn(spec.executable, spec.args, {
    stdio: ['ignore', log.fd, log.fd],
    detached: spec.detached ?? false,
  });
  await log.close();
  const exited = new Promise<never>((_, reject) =>
    child.once('exit', (code) =>
      reject(
        new TransportError(
          `${spec.name} exited with code ${code} at start; see ${join(spec.dataDir, `${spec.name}.log`)}`,
        ),
      ),
    ),
  );
  exited.catch(() => undefined);
  await Promise.race([waitForPort(spec.port), exited]);
  if (spec.detached) child.unref();
  return child;
}

async function terminate(child: ChildProcess, signal: NodeJS.Signals): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  const exited = new Promise((resolve) => child.once('exit', resolve));
  child.kill(signal);
  await exited;
}

/** Starts the server and returns its handle; resolves when the port accepts connections. */
export async function startServer(spec: ServerSpec): Promise<LocalServer> {
  let child = await launch(spec);
  return {
    name: spec.name,
    url: spec.url,
    port: spec.port,
    dataDir: spec.dataDir,
    get pid() {
      return child.pid ?? -1;
    },
    stop: () => terminate(child, 'SIGTERM'),
    kill: () => terminate(child, 'SIGKILL'),
    async restart() {
      await terminate(child, 'SIGTERM');
      child = await launch(spec);
    },
  };
}
