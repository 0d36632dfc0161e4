import { mkdir, writeFile } from 'node:fs/promises';
import { userInfo } from 'node:os';
import { join } from 'node:path';
import { findExecutable, freePort, type LocalServer, startServer } from './process.js';

export interface ServerOptions {
  /** Folder for the server's data and log; created if missing. */
  dataDir: string;
  /** Loopback port; a free one is chosen when omitted. */
  port?: number;
  detached?: boolean;
}

/** Mosquitto 2 with persistence, anonymous access, listening on loopback only. */
export async function startMosquitto(options: ServerOptions): Promise<LocalServer> {
  const port = options.port ?? (await freePort());
  const confPath = join(options.dataDir, 'mosquitto.conf');
  await mkdir(options.dataDir, { recursive: true });
  await writeFile(
    confPath,
    [
      `listener ${port} 127.0.0.1`,
      // Started as root, mosquitto would switch to the "mosquitto" user and lose write access
      // to its persistence folder; keep it as the user who owns the folder.
      `user ${userInfo().username}`,
      'allow_anonymous true',
      'persistence true',
      `persistence_location ${options.dataDir}/`,
      'autosave_interval 1',
      'max_queued_messages 1000000',
      'max_inflight_messages 0',
      'log_dest stdout',
      'log_type error',
      'log_type warning',
      '',
    ].join('\n'),
  );
  return startServer({
    name: 'mosquitto',
    executable: findExecutable('mosquitto', 'mosquitto'),
    args: ['-c', confPath],
    port,
    dataDir: options.dataDir,
    url: `mqtt://127.0.0.1:${port}`,
    detached: options.detached,
  });
}

/** nats-server with JetStream, its file store inside `dataDir`. */
export async function startNats(options: ServerOptions): Promise<LocalServer> {
  const port = options.port ?? (await freePort());
  return startServer({
    name: 'nats-server',
    executable: findExecutable('nats-server', 'nats-server'),
    args: ['-a', '127.0.0.1', '-p', String(port), '-js', '-sd', join(options.dataDir, 'jetstream')],
    port,
    dataDir: options.dataDir,
    url: `nats://127.0.0.1:${port}`,
    detached: options.detached,
  });
}

/** redis-server without snapshots (tests and the demo need no durability from it). */
export async function startRedis(options: ServerOptions): Promise<LocalServer> {
  const port = options.port ?? (await freePort());
  return startServer({
    name: 'redis-server',
    executable: findExecutable('redis-server', 'redis-server'),
    args: [
      '--port',
      String(port),
      '--bind',
      '127.0.0.1',
      '--save',
      '',
      '--appendonly',
      'no',
      '--dir',
      options.dataDir,
    ],
    port,
    dataDir: options.dataDir,
    url: `redis://127.0.0.1:${port}`,
    detached: options.detached,
  });
}
