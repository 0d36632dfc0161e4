import { describe, expect, it } from 'vitest';
import { computePsi, createSlidingPsi, PSI_EPSILON, psiBin } from '../src/features/psi.js';

const quartiles = { edges: [0, 1, 2, 3, 4], shares: [0.25, 0.25, 0.25, 0.25] };

describe('psi - population stability index', () => {
  it('matches the hand-computed value of a known shift', () => {
    // (0.1-0.25)ln(0.4) + (0.2-0.25)ln(0.8) + (0.3-0.25)ln(1.2) + (0.4-0.25)ln(1.6)
    expect(computePsi(quartiles, [10, 20, 30, 40])).toBeCloseTo(0.228218, 5);
    expect(computePsi(quartiles, [5, 5, 5, 5])).toBe(0);
    expect(computePsi(quartiles, [0, 0, 0, 0])).toBe(0);
  });

  it('floors empty bins at epsilon instead of going infinite', () => {
    const psi = computePsi(quartiles, [0, 0, 0, 8]);
    const expected =
      3 * (PSI_EPSILON - 0.25) * Math.log(PSI_EPSILON / 0.25) + 0.75 * Math.log(1 / 0.25);
    expect(psi).toBeCloseTo(expected, 10);
    expect(psi).toBeGreaterThan(0.3);
  });

  it('bins values outside the edges into the outer bins', () => {
    expect([-5, 0, 0.99, 1, 2.5, 3.99, 4, 100].map((v) => psiBin(quartiles.edges, v))).toEqual([
      0, 0, 0, 1, 2, 3, 3, 3,
    ]);
  });

  it('slides: old values leave the window, non-finite ones are ignored', () => {
    const sliding = createSlidingPsi(quartiles, 4);
    for (const v of [3.5, 3.5, 3.5, 3.5]) sliding.add(v);
    expect(sliding.psi()).toBeGreaterThan(1);
    for (const v of [0.5, 1.5, 2.5, Number.NaN, 3.5]) sliding.add(v);
    expect(sliding.count).toBe(4);
    expect(sliding.psi()).toBe(0);
  });
});
