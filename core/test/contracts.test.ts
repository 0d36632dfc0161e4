import { describe, expect, it } from 'vitest';
import {
  buoyReadingSchema,
  CONTRACTS,
  type ContractName,
  contractJsonSchemas,
  readingId,
} from '../src/index.js';

const now = '2024-02-20T03:00:00.000Z';
const sha = 'a'.repeat(64);

const metrics = { n: 10, positives: 4, auroc: 0.9, pr_auc: 0.8, f1: 0.7, brier: 0.1, peirce: 0.5 };

/** One valid example per contract: the round-trip fixtures. */
const EXAMPLES: Record<ContractName, unknown> = {
  'buoy-reading': {
    schema_version: 1,
    id: readingId('davies-wx', 'water_temperature', now),
    site_id: '18-054',
    station_id: 'davies-wx',
    parameter: 'water_temperature',
    value: 29.5,
    unit: 'degC',
    observed_at: now,
    depth_m: 4,
    lat: -18.83,
    lon: 147.63,
    qc_flag: 1,
    source: 'aims',
  },
  'satellite-observation': {
    schema_version: 1,
    id: 'modis-aqua-l3m-sst/sst/18-054/2024-02-20',
    product: 'modis-aqua-l3m-sst',
    variable: 'sst',
    site_id: '18-054',
    lat: -18.83,
    lon: 147.63,
    value: 30.1,
    unit: 'degC',
    observed_at: now,
    quality: 0,
    source_uri: 'file:///data/AQUA_MODIS.20240220.L3m.DAY.SST.sst.4km.nc',
  },
  'feature-vector': {
    schema_version: 1,
    site_id: '18-054',
    as_of: now,
    computed_at: now,
    feature_set_version: 'v1',
    values: { dhw: 4.2, sst_rolling_avg_7d: 29.9, turbidity_zscore: null },
  },
  prediction: {
    schema_version: 1,
    site_id: '18-054',
    time: now,
    risk: 0.82,
    band: 'high',
    alert_level: 3,
    dhw: 4.2,
    model_name: 'reefguard-bleaching-risk',
    model_version: '3',
    variant: 'champion',
    degraded: false,
    top_features: [{ name: 'dhw', value: 4.2, contribution: 0.31 }],
  },
  'drift-event': {
    schema_version: 1,
    id: 'drift/sst_anomaly/2024-02-20T03:00:00.000Z',
    trace_id: 'trace-0001',
    feature: 'sst_anomaly',
    psi: 0.41,
    threshold: 0.3,
    drifted: true,
    window_start: now,
    window_end: now,
    window_count: 512,
    model_version: '3',
  },
  'retrain-request': {
    schema_version: 1,
    id: 'retrain/trace-0001',
    trace_id: 'trace-0001',
    reason: 'drift',
    features: ['sst_anomaly'],
    requested_at: now,
    requested_by: 'stream-processor',
  },
  'retrain-result': {
    schema_version: 1,
    id: 'result/retrain/trace-0001',
    request_id: 'retrain/trace-0001',
    trace_id: 'trace-0001',
    status: 'succeeded',
    model_name: 'reefguard-bleaching-risk',
    model_version: '5',
    local_version: '2',
    mlflow_run_id: 'run-1',
    data_version: `sha256:${sha}`,
    threshold: 0.4,
    metrics: {
      model: { f1: 0.9, auroc: 0.95, pr_auc: 0.9, brier: 0.08 },
      crw_baseline: { f1: 0.7, auroc: null, pr_auc: null, brier: 0.2 },
    },
    held_out_events: [{ event: 'gbr-2016', model_f1: 0.9, crw_baseline_f1: 0.7 }],
    training_seconds: 30,
    started_at: now,
    finished_at: now,
  },
  'rollout-decision': {
    schema_version: 1,
    id: 'decision/trace-0001/challenger',
    trace_id: 'trace-0001',
    stage: 'challenger',
    model_name: 'reefguard-bleaching-risk',
    version: '5',
    previous: null,
    applied: true,
    gates: [{ gate: 'f1_floor', passed: true, detail: 'F1 0.900, floor 0.85' }],
    reason: 'challenger moved from nothing to 5',
    retrain_request_id: 'retrain/trace-0001',
    actor: 'serving',
    decided_at: now,
  },
  'model-announcement': {
    schema_version: 1,
    name: 'reefguard-bleaching-risk',
    version: '4',
    alias: 'challenger',
    sha256: sha,
    url: 'http://127.0.0.1:8080/v1/models/reefguard-bleaching-risk/4/model.onnx',
    canary_share: 0.1,
    decision: 'canary',
    trace_id: 'trace-0001',
    announced_at: now,
  },
  'model-card': {
    schema_version: 1,
    name: 'reefguard-bleaching-risk',
    version: '4',
    created_at: now,
    code_version: 'abc1234',
    data_version: 'sha256:0123',
    label: 'moderate-or-worse bleaching this season',
    features: [
      {
        name: 'dhw',
        unit: 'degC-weeks',
        mean: 3,
        std: 2,
        monotone: 1,
        psi_reference: { edges: [0, 4, 8, 100], shares: [0.5, 0.3, 0.2] },
      },
    ],
    threshold: 0.42,
    ensemble: { members: ['xgboost'], weights: [1], calibration: 'isotonic' },
    files: { model: { path: 'model.onnx', sha256: sha, input: 'features', output: 'risk' } },
    metrics: {
      validation: 'leave-one-event-out',
      overall: { model: metrics, crw_baseline: metrics },
      held_out_events: [{ event: 'gbr-1998', model: metrics, crw_baseline: metrics }],
    },
    training_seconds: 12.5,
  },
  'training-set-manifest': {
    schema_version: 1,
    data_version: sha,
    feature_set_version: 'v1',
    created_at: now,
    rows: 100,
    positives: 40,
    events: [{ event: 'gbr-1998', rows: 100, positives: 40 }],
    features: ['dhw_max_ytd'],
    label: 'GBR aerial category >= 2',
    chip: { channels: ['dhw_max_ytd'], size_px: 16, pixel_deg: 0.02 },
    sources: [{ path: 'data/sample/x.parquet', sha256: sha, format: 'gbr-aerial' }],
    notes: [],
  },
};

describe('contracts - every message type', () => {
  for (const [name, schema] of Object.entries(CONTRACTS)) {
    it(`${name} - survives a JSON round trip unchanged`, () => {
      const parsed = schema.parse(EXAMPLES[name as ContractName]);
      expect(schema.parse(JSON.parse(JSON.stringify(parsed)))).toEqual(parsed);
      expect((parsed as { schema_version: number }).schema_version).toBe(1);
    });

    it(`${name} - rejects a message of another schema version`, () => {
      const bad = { ...(EXAMPLES[name as ContractName] as object), schema_version: 2 };
      const result = schema.safeParse(bad);
      expect(result.success).toBe(false);
      expect(result.error?.issues[0]?.path).toEqual(['schema_version']);
    });
  }

  it('buoy-reading - names the offending field of a bad reading', () => {
    const bad = { ...(EXAMPLES['buoy-reading'] as object), value: 'hot', site_id: 'a b' };
    const result = buoyReadingSchema.safeParse(bad);
    expect(result.success).toBe(false);
    expect(result.error?.issues.map((issue) => issue.path.join('.')).sort()).toEqual([
      'site_id',
      'value',
    ]);
  });

  it('readingId - is stable for the same station, parameter and instant', () => {
    const a = readingId('st', 'water_temperature', '2024-02-20T13:00:00+10:00');
    const b = readingId('st', 'water_temperature', new Date('2024-02-20T03:00:00Z'));
    expect(a).toBe(b);
    expect(a).toBe('st/water_temperature/1708398000000');
    expect(() => readingId('st', 'x', 'not a time')).toThrow(RangeError);
  });

  it('JSON Schema - is emitted for every contract and requires schema_version', () => {
    const schemas = contractJsonSchemas() as Record<string, { required?: string[]; $id: string }>;
    expect(Object.keys(schemas).sort()).toEqual(Object.keys(CONTRACTS).sort());
    for (const [name, schema] of Object.entries(schemas)) {
      expect(schema.required).toContain('schema_version');
      expect(schema.$id).toBe(`urn:reefguard:schema:${name}`);
    }
  });
});
