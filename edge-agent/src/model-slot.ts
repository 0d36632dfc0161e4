import { type Model, ModelError, type ModelInputs } from '@reefguard/core';

/**
 * The model the agent runs now and the one before it. `swap` is atomic for callers: a
 * prediction uses the model that was current when it started, and a replaced model is closed
 * only after its last prediction finished, so a swap never fails an inference.
 */
export interface ModelSlot {
  current(): Model | null;
  previous(): Model | null;
  predict(inputs: ModelInputs, nRows: number): Promise<{ risk: Float32Array; model: Model }>;
  /** Makes `model` current; the old current becomes previous, the old previous is retired. */
  swap(model: Model): Promise<void>;
  /** Instantly back to the previous model; false when there is none. */
  rollback(): Promise<boolean>;
  close(): Promise<void>;
}

export function createModelSlot(initial: Model | null = null): ModelSlot {
  let current = initial;
  let previous: Model | null = null;
  const inFlight = new Map<Model, number>();
  const idle = new Map<Model, () => void>();

  async function retire(model: Model | null) {
    if (!model || model === current || model === previous) return;
    if ((inFlight.get(model) ?? 0) > 0) {
      await new Promise<void>((resolve) => idle.set(model, resolve));
    }
    await model.close();
  }

  return {
    current: () => current,
    previous: () => previous,
    async predict(inputs, nRows) {
      const model = current;
      if (!model) throw new ModelError('no model loaded yet: waiting for a model announcement');
      inFlight.set(model, (inFlight.get(model) ?? 0) + 1);
      try {
        return { risk: await model.predict(inputs, nRows), model };
      } finally {
        const left = (inFlight.get(model) ?? 1) - 1;
        inFlight.set(model, left);
        if (left === 0) {
          inFlight.delete(model);
          idle.get(model)?.();
          idle.delete(model);
        }
      }
    },
    async swap(model) {
      const retired = previous;
      previous = current;
      current = model;
      await retire(retired);
    },
    async rollback() {
      if (!previous) return false;
      const bad = current;
      current = previous;
      previous = null;
      await retire(bad);
      return true;
    },
    async close() {
      const models = [current, previous];
      current = null;
      previous = null;
      for (const model of models) await retire(model);
    },
  };
}
