/**
 * Open-loop HTTP load generator, run as its own process by serving-predict.ts (so neither the
 * other generator's garbage nor the parent's work shares its event loop).
 *
 * Request i is due at t0 + i / rate whatever the answers before it, and its latency counts from
 * that due time (no coordinated omission, as wrk2): a stalled server is charged for every request
 * queued behind the stall. Requests are prebuilt bytes written to raw keep-alive sockets, one
 * request in flight per socket (a new socket opens when all are busy), and answers are parsed
 * only as far as status line and Content-Length, so the generator allocates little and its own
 * pauses stay small; its floor is measured against an empty server by the parent.
 *
 * Protocol: the parent sends one `Job` message; the child answers with one `JobResult` and exits.
 */
import net from 'node:net';
import { monitorEventLoopDelay } from 'node:perf_hooks';

export interface Job {
  host: string;
  port: number;
  path: string;
  /** Request bodies, used round robin. */
  bodies: string[];
  rate: number;
  durationS: number;
}

export interface JobResult {
  /** Latency of each request in ms, from its due time to the last byte of the answer. */
  latenciesMs: number[];
  failed: number;
  /** First failure, for the report. */
  firstError: string | null;
  sent: number;
  elapsedS: number;
  sockets: number;
  /** This process's own event-loop delay p99 (ms): how late the generator itself ran. */
  generatorLoopDelayP99Ms: number;
}

const MAX_SOCKETS = 256;

function request(job: Job, body: string): Buffer {
  const head =
    `POST ${job.path} HTTP/1.1\r\nHost: ${job.host}:${job.port}\r\n` +
    `Content-Type: application/json\r\nContent-Length: ${Buffer.byteLength(body)}\r\n\r\n`;
  return Buffer.from(head + body);
}

const HEADER_END = Buffer.from('\r\n\r\n');
const CONTENT_LENGTH = /\r\ncontent-length:\s*(\d+)/i;

interface Conn {
  socket: net.Socket;
  /** Due time of the request in flight, or null when idle. */
  due: number | null;
  pending: Buffer;
}

export function runOpenLoop(job: Job): Promise<JobResult> {
  const requests = job.bodies.map((body) => request(job, body));
  const total = Math.round(job.rate * job.durationS);
  const latencies = new Float64Array(total);
  let done = 0;
  let failed = 0;
  let firstError: string | null = null;
  let sent = 0;
  const idle: Conn[] = [];
  const all: Conn[] = [];
  const queue: number[] = [];
  const loopDelay = monitorEventLoopDelay({ resolution: 1 });
  loopDelay.enable();
  const t0 = performance.now() + 50;
  let finish: () => void = () => {};
  const finished = new Promise<void>((resolve) => {
    finish = resolve;
  });

  const settle = (conn: Conn, ok: boolean, why?: string) => {
    const due = conn.due as number;
    conn.due = null;
    latencies[done] = performance.now() - due;
    done += 1;
    if (!ok) {
      failed += 1;
      firstError ??= why ?? 'failed';
    }
    if (done === total) finish();
  };

  const onData = (conn: Conn, chunk: Buffer) => {
    conn.pending = conn.pending.length === 0 ? chunk : Buffer.concat([conn.pending, chunk]);
    const end = conn.pending.indexOf(HEADER_END);
    if (end < 0) return;
    const head = conn.pending.toString('latin1', 0, end);
    const length = Number(CONTENT_LENGTH.exec(head)?.[1] ?? Number.NaN);
    if (Number.isNaN(length)) {
      conn.socket.destroy(new Error('answer without Content-Length'));
      return;
    }
    if (conn.pending.length < end + 4 + length) return;
    const status = head.slice(9, 12);
    conn.pending = conn.pending.subarray(end + 4 + length);
    settle(conn, status === '200', `HTTP ${status}`);
    next(conn);
  };

  const open = (): Conn => {
    const socket = net.connect({ host: job.host, port: job.port, noDelay: true });
    const conn: Conn = { socket, due: null, pending: Buffer.alloc(0) };
    socket.on('data', (chunk: Buffer) => onData(conn, chunk));
    socket.on('error', (error) => {
      if (conn.due !== null) settle(conn, false, error.message);
      const at = all.indexOf(conn);
      if (at >= 0) all.splice(at, 1);
      const free = idle.indexOf(conn);
      if (free >= 0) idle.splice(free, 1);
    });
    all.push(conn);
    return conn;
  };

  const send = (conn: Conn, i: number) => {
    conn.due = t0 + (i * 1000) / job.rate;
    conn.socket.write(requests[i % requests.length] as Buffer);
  };

  /** A connection is free: it takes the oldest queued request, or waits. */
  const next = (conn: Conn) => {
    const i = queue.shift();
    if (i === undefined) idle.push(conn);
    else send(conn, i);
  };

  const tick = () => {
    const now = performance.now();
    while (sent < total && t0 + (sent * 1000) / job.rate <= now) {
      const conn = idle.pop() ?? (all.length < MAX_SOCKETS ? open() : undefined);
      if (conn) send(conn, sent);
      else queue.push(sent);
      sent += 1;
    }
    if (sent < total) {
      const wait = t0 + (sent * 1000) / job.rate - performance.now();
      setTimeout(tick, Math.max(0, Math.floor(wait)));
    }
  };
  // A few warm sockets, so the first requests do not pay the TCP handshake.
  for (let i = 0; i < 8; i++) idle.push(open());
  setTimeout(tick, 50);

  return finished.then(() => {
    loopDelay.disable();
    const elapsedS = (performance.now() - t0) / 1000;
    const sockets = all.length;
    for (const conn of all) conn.socket.destroy();
    return {
      latenciesMs: Array.from(latencies),
      failed,
      firstError,
      sent,
      elapsedS,
      sockets,
      generatorLoopDelayP99Ms: loopDelay.percentile(99) / 1e6,
    };
  });
}

if (process.send) {
  process.once('message', (job: Job) => {
    runOpenLoop(job).then(
      (result) => process.send?.(result, () => process.exit(0)),
      (error: unknown) => {
        console.error(error);
        process.exit(1);
      },
    );
  });
}
