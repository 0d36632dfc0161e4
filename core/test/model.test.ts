import { copyFile, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { loadModel, type Model, ModelError } from '../src/index.js';

const models = resolve(import.meta.dirname, '../../test/fixtures/models');

/** Rows spanning calm to severe heat stress: dhw, hotspot, sst_anomaly, sst_rolling_avg_7d. */
const rows = new Float32Array([
  0, 0, -0.5, 27.0, 2, 0.3, 0.2, 27.8, 4, 0.6, 0.5, 28.1, 8, 1.2, 1.4, 29.0, 12, 2, 2.2, 29.9,
]);
const nRows = 5;

describe('model - loadModel', () => {
  const open: Model[] = [];
  afterAll(async () => {
    for (const model of open) await model.close();
  });
  const load = async (dir: string, backend: 'node' | 'web') => {
    const model = await loadModel({ dir, backend });
    open.push(model);
    return model;
  };

  it('node backend - risk rises with heat stress and stays a probability', async () => {
    const model = await load(join(models, 'v1'), 'node');
    expect(model.card.version).toBe('v1');
    expect(model.sha256).toBe(model.card.files.model.sha256);
    const risk = Array.from(await model.predict({ features: rows }, nRows));
    expect(risk).toHaveLength(nRows);
    for (let i = 1; i < nRows; i++) expect(risk[i]).toBeGreaterThan(risk[i - 1] as number);
    expect(risk[0]).toBeLessThan(0.1);
    expect(risk[4]).toBeGreaterThan(0.95);
  });

  it('web backend - WASM gives the same risks as native to 1e-5, for every fixture model', async () => {
    for (const version of ['v1', 'v2']) {
      const native = await load(join(models, version), 'node');
      const wasm = await load(join(models, version), 'web');
      expect(wasm.backend).toBe('web');
      const a = await native.predict({ features: rows }, nRows);
      const b = await wasm.predict({ features: rows }, nRows);
      for (let i = 0; i < nRows; i++)
        expect(Math.abs((a[i] as number) - (b[i] as number))).toBeLessThan(1e-5);
    }
  });

  it('chips - a card with a chip spec feeds the chips input and refuses rows without it', async () => {
    const model = await load(join(models, 'chip-v1'), 'node');
    const chips = new Float32Array(nRows * 16);
    const base = await model.predict({ features: rows, chips }, nRows);
    chips.fill(1, 0, 16); // first row's chip mean = 1 -> logit + 1
    const shifted = await model.predict({ features: rows, chips }, nRows);
    expect(shifted[0]).toBeGreaterThan(base[0] as number);
    expect(shifted[1]).toBeCloseTo(base[1] as number, 6);
    await expect(model.predict({ features: rows }, nRows)).rejects.toThrow(/chips/);
  });

  it('wrong width - a feature array of the wrong size is refused naming the features', async () => {
    const model = await load(join(models, 'v2'), 'node');
    await expect(model.predict({ features: rows.subarray(0, 7) }, 2)).rejects.toThrow(
      /dhw, hotspot, sst_anomaly, sst_rolling_avg_7d/,
    );
  });

  it('checksum - an ONNX file that disagrees with its card is refused with ModelError', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'model-'));
    try {
      await copyFile(join(models, 'v1', 'model-card.json'), join(dir, 'model-card.json'));
      await copyFile(join(models, 'v2', 'model.onnx'), join(dir, 'model.onnx'));
      await expect(loadModel({ dir })).rejects.toThrow(ModelError);
      await expect(loadModel({ dir })).rejects.toThrow(/sha256/);
      await writeFile(join(dir, 'model-card.json'), '{"name": 1}');
      await expect(loadModel({ dir })).rejects.toThrow(/not a valid model card/);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});
