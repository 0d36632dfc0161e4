import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { type ModelCard, modelCardSchema } from '@reefguard/core';
import { describe, expect, it } from 'vitest';
import { evaluateGates, loadPolicy } from '../src/promotion-policy.js';
import { FIXTURE_MODELS, REPO_POLICY } from './helpers.js';

async function card(edit: (c: ModelCard) => void = () => {}): Promise<ModelCard> {
  const text = await readFile(join(FIXTURE_MODELS, 'v1', 'model-card.json'), 'utf8');
  const parsed = modelCardSchema.parse(JSON.parse(text));
  edit(parsed);
  return parsed;
}

/** A held-out event the trainer could not score an F1 on (no positive label in it). */
function addUnscoredEvent(c: ModelCard, event: string) {
  const first = c.metrics.held_out_events[0] as ModelCard['metrics']['held_out_events'][number];
  c.metrics.held_out_events.push({
    event,
    model: { ...first.model, positives: 0, f1: null },
    crw_baseline: { ...first.crw_baseline, positives: 0, f1: null },
  });
}

describe('no_regression gate - events without an F1', () => {
  it('compares only events both cards scored, so one unscored event does not make it n/a', async () => {
    const policy = await loadPolicy(REPO_POLICY);
    const champion = await card((c) => addUnscoredEvent(c, 'gcbd-2005'));
    const candidate = await card((c) => {
      addUnscoredEvent(c, 'gcbd-2005');
      (c.metrics.held_out_events[0] as { model: { f1: number | null } }).model.f1 = 0.86;
    });
    const gates = evaluateGates({
      policy,
      target: 'challenger',
      candidateVersion: '2',
      candidate,
      candidateSha256: 'x'.repeat(64),
      championVersion: '1',
      champion,
      approvals: [],
    });
    const gate = gates.find((g) => g.gate === 'no_regression');
    // (0.86 + 0.89) / 2 = 0.875 against (0.87 + 0.89) / 2 = 0.880: a 0.005 drop passes.
    expect(gate).toEqual({
      gate: 'no_regression',
      passed: true,
      detail: 'mean F1 on 1998, 2002: 0.875 vs champion 1 0.880 (max drop 0.02)',
    });
  });

  it('with no event scored on both sides it fails and says why', async () => {
    const policy = await loadPolicy(REPO_POLICY);
    const unscored = (c: ModelCard) => {
      addUnscoredEvent(c, 'gcbd-2005');
      c.metrics.held_out_events = c.metrics.held_out_events.slice(-1);
    };
    const gates = evaluateGates({
      policy,
      target: 'challenger',
      candidateVersion: '2',
      candidate: await card(unscored),
      candidateSha256: 'x'.repeat(64),
      championVersion: '1',
      champion: await card(unscored),
      approvals: [],
    });
    expect(gates.find((g) => g.gate === 'no_regression')).toEqual({
      gate: 'no_regression',
      passed: false,
      detail: 'no held-out event with an F1 shared with champion 1',
    });
  });
});
