// onnxruntime-node runs the trainer's exported graph (physics prior + XGBoost + ViT + calibrated
// combiner) and must reproduce the trainer's native Python predictions within 1e-5.
// Fixture: test/fixtures/trainer-parity, regenerated with
// `trainer/.venv/bin/python trainer/tests/make_parity_fixture.py`.
import { readFile } from 'node:fs/promises';
import { fileURLToPath } from 'node:url';
import { loadModel, type Model } from '@reefguard/core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

const dir = fileURLToPath(new URL('../fixtures/trainer-parity', import.meta.url));
const TOLERANCE = 1e-5;

interface Cases {
  rows: number;
  features: Array<Array<number | null>>;
  chips: number[];
  native_risk: number[];
}

describe('trainer ONNX export - onnxruntime-node parity', () => {
  let model: Model;
  let cases: Cases;
  let features: Float32Array;
  let chips: Float32Array;

  beforeAll(async () => {
    cases = JSON.parse(await readFile(`${dir}/cases.json`, 'utf8')) as Cases;
    features = Float32Array.from(cases.features.flat(), (v) => (v === null ? Number.NaN : v));
    chips = Float32Array.from(cases.chips);
    model = await loadModel({ dir, backend: 'node' });
  });
  afterAll(async () => {
    await model?.close();
  });

  it('reproduces the native ensemble within 1e-5 on every row, unknown values included', async () => {
    expect(features.some(Number.isNaN)).toBe(true);
    const risk = await model.predict({ features, chips }, cases.rows);
    expect(risk).toHaveLength(cases.native_risk.length);
    const diffs = Array.from(risk, (r, i) => Math.abs(r - (cases.native_risk[i] ?? Number.NaN)));
    expect(Math.max(...diffs)).toBeLessThan(TOLERANCE);
    // the rows are not all alike: parity is checked over a real spread of risk
    expect(Math.max(...risk) - Math.min(...risk)).toBeGreaterThan(0.3);
  });

  it('the physics prior is inside the graph: more DHW never lowers risk, and it does raise it', async () => {
    const width = model.card.features.length;
    const column = model.card.features.findIndex((f) => f.name === 'dhw_max_ytd');
    expect(column).toBeGreaterThanOrEqual(0);
    let previous: Float32Array | undefined;
    let first: Float32Array | undefined;
    for (const dhw of [0, 2, 4, 8, 16]) {
      const x = features.slice();
      for (let row = 0; row < cases.rows; row++) x[row * width + column] = dhw;
      const risk = await model.predict({ features: x, chips }, cases.rows);
      if (previous)
        for (let i = 0; i < risk.length; i++)
          expect(risk[i]).toBeGreaterThanOrEqual(previous[i] ?? 0);
      first ??= risk;
      previous = risk;
    }
    const rise = Array.from(previous ?? [], (r, i) => r - (first?.[i] ?? 0));
    expect(Math.min(...rise)).toBeGreaterThan(0.05);
  });

  it('the card names the three members and the chip input the graph takes', () => {
    expect(model.card.ensemble.members).toEqual(['physics_prior', 'xgboost', 'vit']);
    expect(model.card.chip?.channels.length).toBe(4);
    expect(chips.length).toBe(cases.rows * 4 * 8 * 8);
  });
});
