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
    batches: new Counter({
      name: 'reefguard_stream_batches_total',
      help: 'Batches committed',
      registers: [registry],
    }),
  };
}

export type ProcessorMetrics = ReturnType<typeof createProcessorMetrics>;
