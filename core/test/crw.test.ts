import { describe, expect, it } from 'vitest';
import {
  ALERT_LEVEL_MISSING,
  alertLevel,
  type CrwState,
  computeClimatology,
  computeHeatStress,
  copyCrwState,
  createCrwDayOutput,
  createCrwState,
  DHW_WINDOW_DAYS,
  dailyClimatology,
  dailyClimatologyOnDay,
  restoreCrwState,
  serializeCrwState,
  stepCrwDay,
  toCelsius,
  ValidationError,
} from '../src/index.js';

/** Steps a one-pixel state through `sst` on consecutive days from `day0`; returns the outputs. */
function runPoint(sst: number[], mmm = 28, day0 = 20_000) {
  const state = createCrwState(Float64Array.of(mmm));
  const out = createCrwDayOutput(1);
  return sst.map((value, i) => {
    stepCrwDay(state, day0 + i, Float64Array.of(value), out);
    return {
      hotspot: out.hotspot[0]!,
      dhw: out.dhw[0]!,
      level: out.alertLevel[0]!,
      max7: out.alertLevel7dMax[0]!,
    };
  });
}

describe('crw - hand-checkable cases', () => {
  it('Skirving worked example: daily HotSpots 1.0, 2.0, 0.8, 1.2 give DHW 0.6', () => {
    const days = runPoint([29.0, 30.0, 28.8, 29.2]);
    expect(days.map((d) => d.hotspot)).toEqual([1, 2, 0.8, 1.2].map(Math.fround));
    // 0.8 < 1 degC does not accumulate: (1.0 + 2.0 + 1.2) / 7 = 0.6.
    expect(days.map((d) => d.dhw)).toEqual([0.14, 0.43, 0.43, 0.6].map(Math.fround));
    expect(days.map((d) => d.level)).toEqual([2, 2, 1, 2]);
    expect(days.map((d) => d.max7)).toEqual([2, 2, 2, 2]);
  });

  it('Kelvin input is detected and gives the same numbers as degC', () => {
    const celsius = runPoint([29.0, 30.0, 28.8, 29.2]);
    const kelvin = runPoint([302.15, 303.15, 301.95, 302.35]);
    expect(kelvin).toEqual(celsius);
    expect(toCelsius(302.15)).toBeCloseTo(29, 10);
    expect(toCelsius(29)).toBe(29);
    expect(toCelsius(-327.68)).toBeNaN();
    expect(toCelsius(9.96921e36)).toBeNaN();
  });

  it('an all-missing pixel and a pixel without MMM give NaN and the missing alert level', () => {
    const state = createCrwState(Float64Array.of(28, 28, Number.NaN));
    const out = createCrwDayOutput(3);
    for (let d = 0; d < 10; d++) {
      stepCrwDay(state, d, Float64Array.of(29.5, Number.NaN, 29.5), out);
    }
    expect(out.dhw[0]).toBeCloseTo(15 / 7, 2);
    expect([out.hotspot[1], out.dhw[1], out.hotspot[2], out.dhw[2]]).toEqual([NaN, NaN, NaN, NaN]);
    expect([out.alertLevel[1], out.alertLevel7dMax[1]]).toEqual([
      ALERT_LEVEL_MISSING,
      ALERT_LEVEL_MISSING,
    ]);
    expect(out.alertLevel[2]).toBe(ALERT_LEVEL_MISSING);
  });

  it('DHW counts calendar days: skipped days are missing and still age the window', () => {
    const state = createCrwState(Float64Array.of(28));
    const out = createCrwDayOutput(1);
    stepCrwDay(state, 100, Float64Array.of(31), out); // HS 3
    stepCrwDay(state, 110, Float64Array.of(30), out); // HS 2, days 101..109 missing
    expect(out.dhw[0]).toBeCloseTo(5 / 7, 2);
    expect(out.alertLevel7dMax[0]).toBe(2); // day 100 is out of the 7 days 104..110
    // Day 183 is 83 days after 100: still inside the 84-day window.
    stepCrwDay(state, 183, Float64Array.of(28), out);
    expect(out.dhw[0]).toBeCloseTo(5 / 7, 2);
    // Day 184: day 100 has left; only day 110 (HS 2) remains.
    stepCrwDay(state, 184, Float64Array.of(28), out);
    expect(out.dhw[0]).toBeCloseTo(2 / 7, 2);
    // A missing day keeps the DHW of the days that exist; its alert level is missing.
    stepCrwDay(state, 185, Float64Array.of(Number.NaN), out);
    expect([out.hotspot[0], out.alertLevel[0], out.alertLevel7dMax[0]]).toEqual([
      NaN,
      ALERT_LEVEL_MISSING,
      0,
    ]);
    expect(out.dhw[0]).toBeCloseTo(2 / 7, 2);
    // A gap longer than the window empties it: no day with data, so DHW is NaN.
    stepCrwDay(state, 185 + DHW_WINDOW_DAYS + 1, Float64Array.of(Number.NaN), out);
    expect(out.dhw[0]).toBeNaN();
  });

  it('a steady HotSpot of 1 degC reaches DHW 4 on day 28 and saturates at 12 after 84 days', () => {
    const days = runPoint(new Array(120).fill(29));
    expect(days[27]!.dhw).toBe(4);
    expect(days[26]!.level).toBe(2);
    expect(days[27]!.level).toBe(3);
    expect(days[83]!.dhw).toBe(12);
    expect(days[83]!.level).toBe(5);
    expect(days[119]!.dhw).toBe(12);
  });

  it('alert levels follow the December 2023 scale, DHW compared at 0.01', () => {
    expect(alertLevel(0, 0)).toBe(0);
    expect(alertLevel(-1, 10)).toBe(0);
    expect(alertLevel(0.5, 10)).toBe(1);
    expect(alertLevel(1, 3.99)).toBe(2);
    expect(alertLevel(1, 4)).toBe(3);
    expect(alertLevel(1, 7.9986)).toBe(4); // publishes as 8.00, as NOAA decides (2017-03-30)
    expect(alertLevel(1, 12)).toBe(5);
    expect(alertLevel(1, 16)).toBe(6);
    expect(alertLevel(1, 19.99)).toBe(6);
    expect(alertLevel(1, 20)).toBe(7);
    expect(alertLevel(2, 35)).toBe(7);
    expect(alertLevel(Number.NaN, 1)).toBe(ALERT_LEVEL_MISSING);
  });

  it('the 7-day maximum keeps the worst of the last 7 calendar days', () => {
    const days = runPoint([30, 28.5, 27, 27, 27, 27, 27, 27, 27]);
    expect(days.map((d) => d.level)).toEqual([2, 1, 0, 0, 0, 0, 0, 0, 0]);
    expect(days.map((d) => d.max7)).toEqual([2, 2, 2, 2, 2, 2, 2, 1, 0]);
  });

  it('refuses days out of order', () => {
    const state = createCrwState(Float64Array.of(28));
    const out = createCrwDayOutput(1);
    stepCrwDay(state, 5, Float64Array.of(28), out);
    expect(() => stepCrwDay(state, 5, Float64Array.of(28), out)).toThrow(ValidationError);
    expect(() => stepCrwDay(state, 4.5, Float64Array.of(28), out)).toThrow(ValidationError);
  });
});

/** A reproducible hot series for many pixels with missing values and gaps. */
function syntheticGrid(pixels: number, rows: number) {
  let seed = 7;
  const random = () => {
    seed = (seed * 1_103_515_245 + 12_345) % 2_147_483_648;
    return seed / 2_147_483_648;
  };
  const days = new Int32Array(rows);
  let day = 12_000;
  for (let t = 0; t < rows; t++) {
    days[t] = day;
    day += random() < 0.05 ? 2 + Math.floor(random() * 5) : 1;
  }
  const sstC = Float64Array.from({ length: rows * pixels }, (_, i) =>
    random() < 0.03 ? Number.NaN : 27 + 3 * Math.sin(i / pixels / 58) + 2 * random(),
  );
  const mmmC = Float64Array.from({ length: pixels }, () => 28 + random());
  return { days, sstC, mmmC, pixels };
}

describe('crw - series, streaming and restarts agree', () => {
  it('computeHeatStress equals a straightforward re-summing reference', () => {
    const input = syntheticGrid(5, 600);
    const ours = computeHeatStress(input);
    for (let t = 0; t < input.days.length; t++) {
      for (let p = 0; p < input.pixels; p++) {
        let sum = 0;
        let valid = 0;
        for (let k = t; k >= 0 && input.days[k]! > input.days[t]! - DHW_WINDOW_DAYS; k--) {
          const hs = Math.round((input.sstC[k * input.pixels + p]! - input.mmmC[p]!) * 100) / 100;
          if (Number.isNaN(hs)) continue;
          valid++;
          if (hs >= 1) sum += hs;
        }
        const i = t * input.pixels + p;
        expect(ours.dhw[i]).toBe(valid ? Math.fround(Math.round((sum / 7) * 100) / 100) : NaN);
      }
    }
  });

  it('a state serialized mid-series and restored continues with identical numbers', () => {
    const input = syntheticGrid(7, 400);
    const whole = computeHeatStress(input);
    let state: CrwState = createCrwState(input.mmmC);
    const out = createCrwDayOutput(7);
    for (let t = 0; t < input.days.length; t++) {
      if (t === 250) {
        const bytes = serializeCrwState(state);
        state = restoreCrwState(bytes);
        expect(state.day).toBe(input.days[249]);
      }
      stepCrwDay(state, input.days[t]!, input.sstC.subarray(t * 7, t * 7 + 7), out);
      expect(out.dhw).toEqual(whole.dhw.subarray(t * 7, t * 7 + 7));
      expect(out.alertLevel7dMax).toEqual(whole.alertLevel7dMax.subarray(t * 7, t * 7 + 7));
    }
    expect(() => restoreCrwState(serializeCrwState(state).subarray(0, 40))).toThrow(
      /truncated|corrupt/,
    );
  });

  it('a state copied into a scratch state steps on alike; the original stays as it was', () => {
    const input = syntheticGrid(7, 300);
    const whole = computeHeatStress(input);
    const kept = createCrwState(input.mmmC);
    const out = createCrwDayOutput(7);
    const sstOf = (t: number) => input.sstC.subarray(t * 7, t * 7 + 7);
    for (let t = 0; t < 200; t++) stepCrwDay(kept, input.days[t]!, sstOf(t), out);
    // A scratch state with other MMMs and a history of its own: the copy replaces both.
    const scratch = createCrwState(input.mmmC.map((m) => m - 1));
    stepCrwDay(scratch, input.days[0]!, sstOf(0), out);
    for (let t = 200; t < 300; t++) {
      copyCrwState(scratch, kept);
      stepCrwDay(scratch, input.days[t]!, sstOf(t), out);
      expect(out.dhw).toEqual(whole.dhw.subarray(t * 7, t * 7 + 7));
      expect(out.alertLevel7dMax).toEqual(whole.alertLevel7dMax.subarray(t * 7, t * 7 + 7));
      stepCrwDay(kept, input.days[t]!, sstOf(t), out);
    }
    expect(kept.day).toBe(input.days[299]);
    expect(() => copyCrwState(createCrwState(Float64Array.of(28)), kept)).toThrow(
      /7 pixels .* into 1/,
    );
  });
});

describe('crw - climatology (Skirving et al. 2020)', () => {
  const monthly = [28.5, 28.6, 28.1, 27.1, 25.9, 24.4, 23.8, 23.7, 24.5, 25.7, 27.1, 27.9];
  /** Daily SST equal to the month's value plus a 0.02 degC/year trend. */
  function series(fromYear: number, toYear: number) {
    const days: number[] = [];
    const sstC: number[] = [];
    for (
      let day = Date.UTC(fromYear, 0, 1) / 864e5;
      day < Date.UTC(toYear + 1, 0, 1) / 864e5;
      day++
    ) {
      const date = new Date(day * 864e5);
      days.push(day);
      sstC.push(monthly[date.getUTCMonth()]! + 0.02 * (date.getUTCFullYear() - 1988.2857));
    }
    return { days, sstC };
  }

  it('regresses each month on year and evaluates it at 1988.2857', () => {
    const c = computeClimatology(series(1985, 2012));
    monthly.forEach((value, m) => {
      expect(c.monthlyMeanC[m]).toBeCloseTo(value, 9);
    });
    expect(c.mmmC).toBeCloseTo(28.6, 9);
    expect(c.mmmMonth).toBe(2);
    expect(c.complete).toBe(true);
    expect(Array.from(c.yearsPerMonth)).toEqual(new Array(12).fill(28));
  });

  it('with fewer than 20 years it takes the plain mean, standing for their mean year', () => {
    const c = computeClimatology(series(2005, 2009));
    expect(c.complete).toBe(false);
    expect(c.representsYear[0]).toBe(2007);
    expect(c.monthlyMeanC[0]).toBeCloseTo(28.5 + 0.02 * (2007 - 1988.2857), 9);
  });

  it('daily climatology interpolates between monthly means on the 15th', () => {
    expect(dailyClimatology(monthly, new Date(Date.UTC(2020, 1, 15)))).toBeCloseTo(28.6, 12);
    // 1 January: 17 of the 31 days from 15 December to 15 January.
    expect(dailyClimatology(monthly, 1)).toBeCloseTo(27.9 + (28.5 - 27.9) * (17 / 31), 12);
    expect(dailyClimatologyOnDay(monthly, Date.UTC(2021, 0, 1) / 864e5)).toBeCloseTo(
      27.9 + (28.5 - 27.9) * (17 / 31),
      12,
    );
    // 30 June: 15 of the 30 days from 15 June to 15 July.
    expect(dailyClimatology(monthly, new Date(Date.UTC(2021, 5, 30)))).toBeCloseTo(24.1, 12);
  });
});
