import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Registry } from 'prom-client';

/** What /healthz answers: enough for an operator on the gateway to see the state at once. */
export interface HealthReport {
  status: 'ok' | 'degraded';
  agent_id: string;
  queue_depth: number;
  oldest_unsent_age_s: number | null;
  dropped_total: number;
  publish_rate_per_s: number;
  brokers: Record<string, boolean>;
  model_version: string | null;
  last_inference_at: string | null;
}

export interface HealthServer {
  readonly url: string;
  close(): Promise<void>;
}

/** GET /healthz (JSON) and GET /metrics (Prometheus text) on a local port. */
export async function startHealthServer(options: {
  host: string;
  port: number;
  registry: Registry;
  report: () => HealthReport;
}): Promise<HealthServer> {
  const server = createServer((request, response) => {
    if (request.method === 'GET' && request.url === '/healthz') {
      const report = options.report();
      response.writeHead(report.status === 'ok' ? 200 : 503, {
        'content-type': 'application/json',
      });
      response.end(JSON.stringify(report));
      return;
    }
    if (request.method === 'GET' && request.url === '/metrics') {
      options.registry.metrics().then(
        (text) => {
          response.writeHead(200, { 'content-type': options.registry.contentType });
          response.end(text);
        },
        (error: unknown) => {
          response.writeHead(500);
          response.end(String(error));
        },
      );
      return;
    }
    response.writeHead(404, { 'content-type': 'application/json' });
    response.end('{"error":"not found: try /healthz or /metrics"}');
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port, options.host, resolve);
  });
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://${options.host}:${port}`,
    close: () => new Promise((resolve) => server.close(() => resolve())),
  };
}
