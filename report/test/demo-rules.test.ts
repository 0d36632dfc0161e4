import { execFile } from 'node:child_process';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { durationSeconds, scaleRuleTimings, writeScaledMonitoring } from '../src/demo-rules.js';

const ROOT = resolve(import.meta.dirname, '../..');
const MONITORING = join(ROOT, 'infra/monitoring');
const run = promisify(execFile);
let dir: string;
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'demo-rules-'));
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

/** Each alert's `for:` in seconds, by alert name, and every group's interval. */
function timings(text: string) {
  const alerts = new Map<string, number>();
  for (const m of text.matchAll(/- alert: (\S+)\n(?:\s+expr:[\s\S]*?)\n\s+for: (\S+)/g)) {
    alerts.set(m[1] as string, durationSeconds(m[2] as string));
  }
  const intervals = [...text.matchAll(/^\s+interval: (\S+)$/gm)].map((m) => m[1]);
  return { alerts, intervals };
}

describe("demo rules - the shipped alert rules on the demo's clock, generated at run time", () => {
  it('reads Prometheus durations and refuses what is not one', () => {
    expect(durationSeconds('15m')).toBe(900);
    expect(durationSeconds('1h30m')).toBe(5400);
    expect(durationSeconds('90s')).toBe(90);
    expect(durationSeconds('500ms')).toBe(0.5);
    expect(() => durationSeconds('15 minutes')).toThrow(/not a Prometheus duration/);
    expect(() => durationSeconds('m15')).toThrow(/not a Prometheus duration/);
  });

  it('scales every for: of the shipped rules (15m -> 15s at 1/60) and evaluates every group each 2 s; nothing else changes', async () => {
    const shipped = await readFile(join(MONITORING, 'rules/reefguard.rules.yml'), 'utf8');
    const scaled = scaleRuleTimings(shipped, { forScale: 1 / 60, intervalS: 2 });
    const before = timings(shipped);
    const after = timings(scaled);
    expect(before.alerts.get('FeatureDriftHigh')).toBe(900);
    expect(after.alerts.get('FeatureDriftHigh')).toBe(15);
    expect(after.alerts.size).toBe(before.alerts.size);
    expect(after.alerts.size).toBeGreaterThan(10);
    for (const [alert, seconds] of before.alerts) {
      expect(after.alerts.get(alert)).toBe(Math.round(seconds / 60));
    }
    expect(after.intervals.length).toBe(before.intervals.length);
    expect(after.intervals.every((i) => i === '2s')).toBe(true);
    // Only the timing lines differ: same expressions, labels and annotations.
    const untimed = (t: string) => t.replace(/^\s+(for|interval): \S+$/gm, '');
    expect(untimed(scaled)).toBe(untimed(shipped));
  });

  it('refuses text without for: and a non-positive interval', () => {
    expect(() => scaleRuleTimings('groups: []\n', { forScale: 1, intervalS: 1 })).toThrow(
      /no `for:`/,
    );
    expect(() => scaleRuleTimings('    for: 5m\n', { forScale: 1 / 60, intervalS: 0 })).toThrow(
      /intervalS > 0/,
    );
  });

  it('writes a monitoring folder whose generated rules promtool accepts, with the routing and templates beside them', async () => {
    const out = join(dir, 'monitoring');
    const { configDir, ruleFiles } = await writeScaledMonitoring(MONITORING, out, {
      forScale: 1 / 60,
      intervalS: 2,
    });
    expect(configDir).toBe(out);
    expect(ruleFiles).toEqual([join(out, 'rules/reefguard.rules.yml')]);
    expect(await readFile(join(out, 'alertmanager.yml'), 'utf8')).toBe(
      await readFile(join(MONITORING, 'alertmanager.yml'), 'utf8'),
    );
    expect(await readFile(join(out, 'templates/slack.tmpl'), 'utf8')).toBe(
      await readFile(join(MONITORING, 'templates/slack.tmpl'), 'utf8'),
    );
    const check = await run('promtool', ['check', 'rules', ...ruleFiles]);
    expect(check.stdout).toMatch(/SUCCESS: \d+ rules found/);
  });

  it('says which folder has no rules', async () => {
    const empty = join(dir, 'empty');
    await writeScaledMonitoring(MONITORING, join(dir, 'copy'), { forScale: 1, intervalS: 1 });
    await writeFile(join(dir, 'copy', 'rules', 'reefguard.rules.yml'), '');
    await rm(join(dir, 'copy', 'rules', 'reefguard.rules.yml'));
    await expect(
      writeScaledMonitoring(join(dir, 'copy'), empty, { forScale: 1, intervalS: 1 }),
    ).rejects.toThrow(/copy\/rules holds no \*\.yml rules/);
  });
});
