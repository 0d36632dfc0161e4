import { describe, expect, it } from 'vitest';
import {
  CONTRACTS,
  LOOP_STREAMS,
  natsSubjects,
  retrainResultSchema,
  rolloutDecisionSchema,
} from '../src/index.js';

const succeeded = {
  schema_version: 1,
  id: 'result/drift/7/2026-11-29',
  request_id: 'drift/7/2026-11-29',
  trace_id: '3f1e4c2a-0000-4000-8000-000000000001',
  status: 'succeeded',
  model_name: 'reefguard-bleaching-risk',
  model_version: '8',
  local_version: '3',
  mlflow_run_id: 'abc123',
  data_version: 'sha256:0123',
  threshold: 0.42,
  metrics: {
    model: { f1: 0.9, auroc: 0.95, pr_auc: 0.9, brier: 0.08 },
    crw_baseline: { f1: 0.7, auroc: null, pr_auc: null, brier: 0.2 },
  },
  held_out_events: [{ event: 'gbr-2016', model_f1: 0.9, crw_baseline_f1: 0.7 }],
  training_seconds: 12.5,
  started_at: '2026-11-29T05:00:00.000Z',
  finished_at: '2026-11-29T05:00:12.500Z',
} as const;

describe('contracts - the closed loop', () => {
  it('retrain-result: a success names its version, a failure its reason', () => {
    expect(retrainResultSchema.parse(succeeded).model_version).toBe('8');
    const failed = {
      ...succeeded,
      status: 'failed',
      model_version: null,
      metrics: null,
      held_out_events: [],
      reason: 'training failed: no rows',
    };
    expect(retrainResultSchema.parse(failed).reason).toBe('training failed: no rows');
    const noReason = retrainResultSchema.safeParse({ ...failed, reason: undefined });
    expect(noReason.error?.issues[0]?.path).toEqual(['reason']);
    const noVersion = retrainResultSchema.safeParse({ ...succeeded, model_version: null });
    expect(noVersion.error?.issues[0]?.path).toEqual(['model_version']);
  });

  it('rollout-decision: stages are a closed set and canary stats are typed', () => {
    const decision = {
      schema_version: 1,
      id: 'decision/x',
      trace_id: succeeded.trace_id,
      stage: 'promoted',
      model_name: 'reefguard-bleaching-risk',
      version: '8',
      previous: '7',
      applied: true,
      gates: [{ gate: 'canary_error_rate', passed: true, detail: '0 % vs 0 %' }],
      canary: {
        weight: 0.1,
        champion: { requests: 900, errors: 0, error_rate: 0, p50_ms: 1.2 },
        challenger: { requests: 100, errors: 0, error_rate: 0, p50_ms: null },
      },
      reason: 'champion moved from 7 to 8',
      actor: 'serving',
      decided_at: '2026-11-29T05:30:00.000Z',
    };
    expect(rolloutDecisionSchema.parse(decision).stage).toBe('promoted');
    const bad = rolloutDecisionSchema.safeParse({ ...decision, stage: 'maybe' });
    expect(bad.error?.issues[0]?.path).toEqual(['stage']);
  });

  it('both are published contracts on subjects inside the loop streams', () => {
    expect(Object.keys(CONTRACTS)).toEqual(
      expect.arrayContaining(['retrain-result', 'rollout-decision']),
    );
    const covered = (subject: string, streams: readonly string[]) =>
      streams.some((s) => subject.startsWith(s.replace(/>$/, '')));
    expect(covered(natsSubjects.retrainResults, LOOP_STREAMS.retrain.subjects)).toBe(true);
    expect(covered(natsSubjects.rolloutDecisions, LOOP_STREAMS.models.subjects)).toBe(true);
    expect(covered(natsSubjects.modelAnnouncements, LOOP_STREAMS.models.subjects)).toBe(true);
  });
});
