import { describe, expect, it } from 'vitest';
import { computeDailyFeatures, dayEndIso, trailingMean, utcDay } from '../src/features/compute.js';

describe('features - daily features of a site', () => {
  it('averages only the days that have data and never invents a value', () => {
    const series = [27, Number.NaN, 29, 30];
    expect(trailingMean(series, 1)).toBe(30);
    expect(trailingMean(series, 2)).toBe(29.5);
    expect(trailingMean(series, 3)).toBe(29.5);
    expect(trailingMean(series, 30)).toBeCloseTo(28.6667, 4);
    expect(trailingMean([Number.NaN], 7)).toBeNaN();
  });

  it('combines SST series, climatology, heat stress and turbidity', () => {
    const sstMeanC = Array.from({ length: 30 }, (_, i) => (i < 23 ? 28 : 30));
    expect(
      computeDailyFeatures({
        sstMeanC,
        sstMaxC: 30.4,
        climatologyC: 28.5,
        heat: { hotspot: 1.4, dhw: 6.2, alertLevel: 2, dhw7dAgo: 4.1 },
        turbidity: { latest: 4, mean: 2, std: 1 },
      }),
    ).toMatchInlineSnapshot(`
      {
        "alert_level": 2,
        "dhw": 6.2,
        "dhw_trend_7d": 2.1000000000000005,
        "hotspot": 1.4,
        "sst_anomaly": 1.5,
        "sst_daily_max": 30.4,
        "sst_daily_mean": 30,
        "sst_rolling_avg_30d": 28.466666666666665,
        "sst_rolling_avg_7d": 30,
        "turbidity_ntu": 4,
        "turbidity_zscore": 2,
      }
    `);
  });

  it('leaves heat stress and turbidity null without their inputs', () => {
    const values = computeDailyFeatures({
      sstMeanC: [Number.NaN],
      sstMaxC: Number.NaN,
      climatologyC: Number.NaN,
      heat: null,
      turbidity: null,
    });
    expect(Object.values(values).every((v) => v === null)).toBe(true);
  });

  it('names days in UTC and ends them at the last millisecond', () => {
    expect(utcDay(Date.parse('2024-02-01T23:59:59.999Z'))).toBe(19754);
    expect(dayEndIso(19754)).toBe('2024-02-01T23:59:59.999Z');
  });
});
