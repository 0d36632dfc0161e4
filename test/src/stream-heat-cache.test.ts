import { ALERT_LEVEL_MISSING, computeHeatStress } from '@reefguard/core';
import { createCrwHeatStress } from '@reefguard/stream-processor';
import { describe, expect, it } from 'vitest';
import { testSite } from './stream-helpers.js';

/** The whole window replayed from a fresh state: what every call must equal. */
function replayed(mmmC: number, meanC: Float64Array, day: number) {
  const n = meanC.length;
  const days = Int32Array.from({ length: n }, (_, i) => day - n + 1 + i);
  const s = computeHeatStress({ days, sstC: meanC, pixels: 1, mmmC: Float64Array.of(mmmC) });
  const r = (v: number) => Math.round(v * 100) / 100;
  const level = s.alertLevel[n - 1] as number;
  return {
    hotspot: r(s.hotspot[n - 1] as number),
    dhw: r(s.dhw[n - 1] as number),
    alertLevel: level === ALERT_LEVEL_MISSING ? Number.NaN : level,
    dhw7dAgo: n > 7 ? r(s.dhw[n - 8] as number) : Number.NaN,
  };
}

describe('stream processor - heat stress with the kept window state', () => {
  it('equals a full replay through live updates, late data, new days and short windows', () => {
    const heat = createCrwHeatStress();
    const site = testSite('18-054');
    const other = { ...testSite('19-138'), mmmC: 27.9 };
    // No climatology: its state has no pixel to carry (a scratch state of another shape).
    const noMmm = { ...testSite('20-001'), mmmC: Number.NaN };
    let seed = 7;
    const random = () => {
      seed = (seed * 1103515245 + 12345) % 2 ** 31;
      return seed / 2 ** 31;
    };
    // A hot summer: about 1-2 degC above the MMM, some days missing.
    const window = Float64Array.from({ length: 92 }, (_, i) =>
      i % 13 === 5 ? Number.NaN : 28.6 + 1.5 * random() + i / 92,
    );
    let day = 19_755;
    const calls: Array<[typeof site, Float64Array, number]> = [];
    for (let step = 0; step < 60; step++) {
      const kind = step % 10;
      if (kind < 6)
        window[91] = 29 + 2 * random(); // live: only today's mean moves
      else if (kind === 6)
        window[80] = 30 + random(); // late reading, an earlier day
      else if (kind === 7) {
        day += 1; // a new day: the window moves on
        window.copyWithin(0, 1);
        window[91] = 29.5;
      } else if (kind === 8) window[91] = Number.NaN;
      calls.push([site, window.slice(), day]);
      calls.push([other, window.slice(), day]);
      calls.push([noMmm, window.slice(), day]);
      // A recomputed earlier day: the window cut short at that day.
      calls.push([site, window.slice(0, 88), day - 4]);
      calls.push([site, window.slice(0, 5), day - 87]);
    }
    let hot = 0;
    for (const [s, meanC, d] of calls) {
      const got = heat.ofDay(s, meanC, d);
      expect(got, `${s.siteId} ${d} ${meanC.length}`).toEqual(replayed(s.mmmC, meanC, d));
      if ((got?.dhw ?? 0) > 4) hot += 1;
    }
    // The windows carry real heat stress, so a wrong state would show in the numbers.
    expect(hot).toBeGreaterThan(100);
  });
});
