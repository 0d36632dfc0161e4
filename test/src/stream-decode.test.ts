import {
  createSiteRegistry,
  decodeReading,
  decodeReadingWithSchema,
} from '@reefguard/stream-processor';
import { describe, expect, it } from 'vitest';
import { reading, testSite } from './stream-helpers.js';

// A site id the contract's pattern rejects, known to the registry all the same: the fast
// path must still call it a schema violation.
const SITES = createSiteRegistry(['18-054', 'bad site!'].map((id) => testSite(id)));
const NOW = Date.parse('2024-02-02T00:00:00Z');
const encoder = new TextEncoder();
const base = { ...reading('18-054', '2024-02-01T03:00:00Z', 28.25), depth_m: 2, qc_flag: 1 };

/** One field replaced (or removed with `undefined`) per case, plus some whole payloads. */
const FIELD_CASES: Array<[string, unknown]> = [
  ['schema_version', 2],
  ['schema_version', '1'],
  ['id', ''],
  ['id', 'x'.repeat(200)],
  ['id', 'x'.repeat(201)],
  ['id', 7],
  ['site_id', 'bad site!'],
  ['site_id', 'unknown-site'],
  ['site_id', undefined],
  ['station_id', 'x'.repeat(64)],
  ['station_id', 'x'.repeat(65)],
  ['parameter', 'toString'],
  ['parameter', 'turbidity'],
  ['parameter', 'ph'],
  ['value', '28.25'],
  ['value', null],
  ['value', 41],
  ['value', 1e308],
  ['unit', ''],
  ['unit', 'degF'],
  ['observed_at', '2024-02-01T03:00:00+10:00'],
  ['observed_at', '2024-02-01T03:00:00.123456Z'],
  ['observed_at', '2024-02-30T03:00:00Z'],
  ['observed_at', '2024-13-01T03:00:00Z'],
  ['observed_at', '2024-02-01T03:00Z'],
  ['observed_at', '2024-02-01 03:00:00Z'],
  ['observed_at', '2024-02-01T03:00:00'],
  ['observed_at', '2024-02-09T03:00:00Z'],
  ['depth_m', undefined],
  ['depth_m', -0.1],
  ['depth_m', 200],
  ['depth_m', null],
  ['lat', -18.8],
  ['lat', 91],
  ['lon', 147.6],
  ['lon', -181],
  ['qc_flag', 9],
  ['qc_flag', 1.5],
  ['qc_flag', 10],
  ['source', 'aims'],
  ['source', 'satellite'],
  ['extra_field', 'dropped'],
];

const withField = ([field, value]: [string, unknown]) => {
  const copy: Record<string, unknown> = { ...base };
  if (value === undefined) delete copy[field];
  else copy[field] = value;
  return JSON.stringify(copy);
};

describe('stream processor - decode fast path', () => {
  it('gives the same result as the zod schema for every field, valid or not', () => {
    const payloads = [
      ...FIELD_CASES.map(withField),
      JSON.stringify(base),
      '[]',
      'null',
      '"reading"',
      '{"schema_version":1',
    ];
    let accepted = 0;
    for (const payload of payloads) {
      const data = encoder.encode(payload);
      const fast = decodeReading(data, SITES, NOW);
      expect(fast, payload).toEqual(decodeReadingWithSchema(data, SITES, NOW));
      if (fast.ok) accepted += 1;
    }
    // Both sides of the contract are exercised: not everything passes, not everything fails.
    expect(accepted).toBe(12);
    expect(payloads.length - accepted).toBe(35);
  });

  it('drops unknown keys and keeps optional ones, as the schema does', () => {
    const decoded = decodeReading(
      encoder.encode(JSON.stringify({ ...base, lat: -18.8, extra: 1 })),
      SITES,
      NOW,
    );
    expect(decoded).toEqual({
      ok: true,
      observedMs: Date.parse('2024-02-01T03:00:00Z'),
      reading: { ...base, lat: -18.8 },
    });
  });

  it('names the field a schema violation is about', () => {
    const bad = decodeReading(encoder.encode(withField(['site_id', 'bad site!'])), SITES, NOW);
    expect(bad).toEqual({
      ok: false,
      reason: 'schema_violation',
      detail: 'site_id: site ids use letters, digits, ".", "_" and "-"',
    });
  });
});
