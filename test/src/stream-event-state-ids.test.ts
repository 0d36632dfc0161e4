import { createEventState, type StateReading } from '@reefguard/stream-processor';
import { describe, expect, inject, it } from 'vitest';
import { useRedisPrefix } from './stream-helpers.js';

const { redisUrl } = inject('stack');

describe('stream processor - event state ids', () => {
  const { redis, prefix } = useRedisPrefix(redisUrl);

  it('keeps ids with separators, digits and multi-byte characters apart, once each', async () => {
    const state = createEventState({ redis, prefix });
    const t0 = Date.parse('2024-02-01T03:00:00Z');
    // Ids that would break a naive packing: the packed numbers' own separators, digits,
    // characters of 2 to 4 bytes, one id a prefix of another.
    const ids = ['a,b', '3,x,', 'é,1', '礁-7', '🐠', '🐠🐠', 'x;y\n\tz', '12', '1'];
    const readings: StateReading[] = ids.map((id, i) => ({
      id,
      observedMs: t0 + i * 60_000,
      kind: 'w',
      value: 28 + i / 10,
    }));
    const first = await state.apply(new Map([['18-054', readings]]));
    expect(first.get('18-054')?.statuses).toEqual(ids.map(() => 'N'));
    const window = first.get('18-054')?.window;
    const mean = ids.reduce((sum, _, i) => sum + 28 + i / 10, 0) / ids.length;
    expect(window?.meanC.at(-1)).toBeCloseTo(mean, 9);
    expect(window?.maxC.at(-1)).toBe(28.8);
    expect(window?.watermarkMs).toBe(t0 + 8 * 60_000);
    // Redelivered (mixed with one new id): the old ones are duplicates, nothing counted twice.
    const again = await state.apply(
      new Map([['18-054', [...readings, { ...readings[0]!, id: 'a,b,' }]]]),
    );
    expect(again.get('18-054')?.statuses).toEqual([...ids.map(() => 'D'), 'N']);
    expect(again.get('18-054')?.window.meanC.at(-1)).toBeCloseTo(
      (mean * ids.length + 28) / (ids.length + 1),
      9,
    );
  });
});
