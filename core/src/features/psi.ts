/**
 * Population Stability Index of live values against a model card's reference bins.
 *
 *   PSI = sum_i (live_i - ref_i) * ln(live_i / ref_i)
 *
 * with shares floored at `PSI_EPSILON` so an empty bin does not make PSI infinite (the usual
 * convention; Siddiqi 2006, "Credit Risk Scorecards", ch. 8). Values below the first edge fall
 * in the first bin and above the last edge in the last bin, as the trainer bins them.
 */
export const PSI_EPSILON = 1e-4;

/** The seed's threshold: PSI above 0.3 is a significant shift. */
export const DEFAULT_PSI_THRESHOLD = 0.3;

export interface PsiReference {
  /** Ascending bin edges, length k + 1. */
  readonly edges: readonly number[];
  /** Training share in each of the k bins. */
  readonly shares: readonly number[];
}

/** Index of the reference bin `value` falls in (clamped to the outer bins). */
export function psiBin(edges: readonly number[], value: number): number {
  const last = edges.length - 2;
  let lo = 0;
  let hi = last;
  // Binary search for the last edge <= value among the inner edges.
  while (lo < hi) {
    const mid = (lo + hi + 1) >> 1;
    if (value >= (edges[mid] as number)) lo = mid;
    else hi = mid - 1;
  }
  return lo;
}

/** PSI of live bin counts against reference shares; 0 when there are no live values. */
export function computePsi(reference: PsiReference, counts: ArrayLike<number>): number {
  let total = 0;
  for (let i = 0; i < counts.length; i++) total += counts[i] as number;
  if (total === 0) return 0;
  let psi = 0;
  for (let i = 0; i < reference.shares.length; i++) {
    const live = Math.max((counts[i] ?? 0) / total, PSI_EPSILON);
    const ref = Math.max(reference.shares[i] as number, PSI_EPSILON);
    psi += (live - ref) * Math.log(live / ref);
  }
  return psi;
}

/**
 * PSI over a sliding window of the last `windowSize` values: O(log k) per value, no allocation.
 * Non-finite values are ignored (a missing feature is not evidence of drift).
 */
export interface SlidingPsi {
  add(value: number): void;
  /** PSI of the values currently in the window. */
  psi(): number;
  readonly count: number;
}

export function createSlidingPsi(reference: PsiReference, windowSize: number): SlidingPsi {
  if (reference.edges.length < 2 || reference.shares.length !== reference.edges.length - 1) {
    throw new RangeError('PSI reference needs k + 1 ascending edges and k shares');
  }
  if (!(windowSize > 0))
    throw new RangeError(`PSI window size must be positive, got ${windowSize}`);
  const counts = new Float64Array(reference.shares.length);
  const ring = new Int32Array(windowSize);
  let next = 0;
  let count = 0;
  return {
    add(value) {
      if (!Number.isFinite(value)) return;
      if (count === windowSize) {
        const old = ring[next] as number;
        counts[old] = (counts[old] as number) - 1;
      } else count += 1;
      const bin = psiBin(reference.edges, value);
      ring[next] = bin;
      counts[bin] = (counts[bin] as number) + 1;
      next = (next + 1) % windowSize;
    },
    psi: () => computePsi(reference, counts),
    get count() {
      return count;
    },
  };
}
