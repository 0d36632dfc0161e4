import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { TransportError } from '@reefguard/core';
import { Counter, Gauge, Histogram, Registry } from 'prom-client';

/** The processor's Prometheus metrics, on a registry of their own (no global state). */
export function createProcessorMetrics(registry = new Registry()) {
  return {
    registry,
    readings: new Counter({
      name: 'reefguard_stream_readings_total',
      help: 'Readings received, by outcome (applied, duplicate, late, quarantined)',
      labelNames: ['outcome'],
      registers: [registry],
    }),
    quarantined: new Counter({
      name: 'reefguard_stream_quarantined_total',
      help: 'Inputs set aside, by source and machine-readable reason',
      labelNames: ['source', 'reason'],
      registers: [registry],
    }),
    latency: new Histogram({
      name: 'reefguard_stream_reading_to_online_seconds',
      help: 'From arrival at the processor to the online feature write committing',
      buckets: [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 1],
      registers: [registry],
    }),
    psi: new Gauge({
      name: 'reefguard_feature_psi',
      help: 'Population Stability Index of the live window against the champion card',
      labelNames: ['feature'],
      registers: [registry],
    }),
    stageSeconds: new Histogram({
      name: 'reefguard_stream_stage_seconds',
      help: 'Time per batch in each processor stage (decode, event_state, features, online_write (with the year-to-date DHW), offline_commit, offline_wait (the loop waiting for DuckDB), ack)',
      labelNames: ['stage'],
      buckets: [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 1],
      registers: [registry],
    }),
    batches: new Counter({
      name: 'reefguard_stream_batches_total',
      help: 'Batches committed',
      registers: [registry],
    }),
    stateSiteReads: new Counter({
      name: 'reefguard_stream_state_site_reads_total',
      help: 'Sites read whole from Redis by the event state (first sight, after a conflict, or after being dropped from memory)',
      registers: [registry],
    }),
    stateSitesDropped: new Counter({
      name: 'reefguard_stream_state_sites_dropped_total',
      help: 'Sites the event state dropped from memory, least recently used first, to keep REEFGUARD_SITES_KEPT',
      registers: [registry],
    }),
    stateConflicts: new Counter({
      name: 'reefguard_stream_state_conflicts_total',
      help: 'Sites another writer had changed when this instance committed (read again, re-applied)',
      registers: [registry],
    }),
  };
}

export type ProcessorMetrics = ReturnType<typeof createProcessorMetrics>;

/** Where the metrics server listens unless told otherwise: loopback only. */
export const DEFAULT_METRICS_HOST = '127.0.0.1';

export interface MetricsServer {
  /** The bound address (host as bound, the real port when 0 was asked for). */
  readonly host: string;
  readonly port: number;
  close(): Promise<void>;
}

/**
 * Serves `registry` in the Prometheus text format on `host:port` (every path answers with
 * the metrics). Resolves once listening; rejects naming the address when it cannot bind.
 */
export async function startMetricsServer(options: {
  registry: Registry;
  port: number;
  host?: string;
}): Promise<MetricsServer> {
  const host = options.host ?? DEFAULT_METRICS_HOST;
  const server = createServer(async (_req, res) => {
    try {
      const body = await options.registry.metrics();
      res.setHeader('content-type', options.registry.contentType);
      res.end(body);
    } catch (error) {
      res.statusCode = 500;
      res.end(String(error));
    }
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', (error) =>
      reject(
        new TransportError(`metrics server cannot listen on ${host}:${options.port}`, {
          cause: error,
        }),
      ),
    );
    server.listen(options.port, host, () => resolve());
  });
  const address = server.address() as AddressInfo;
  return {
    host: address.address,
    port: address.port,
    close: () =>
      new Promise<void>((resolve, reject) => {
        server.close((error) => (error ? reject(error) : resolve()));
        // A scraper's keep-alive connection would hold close() open until it times out.
        server.closeAllConnections();
      }),
  };
}
