import { cp, mkdir, readdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { ConfigError } from '@reefguard/core';

/** How a copy of the shipped alert rules is sped up: `for:` scaled, every group evaluated often. */
export interface RuleTiming {
  /** Every `for:` duration is multiplied by this (1/60: a minute becomes a second). */
  forScale: number;
  /** Every group's `interval:`, in seconds. */
  intervalS: number;
}

const UNIT_S: Record<string, number> = { ms: 0.001, s: 1, m: 60, h: 3600, d: 86_400 };

/** Seconds of a Prometheus duration such as `15m`, `1h30m` or `90s`. */
export function durationSeconds(text: string): number {
  const parts = [...text.matchAll(/(\d+(?:\.\d+)?)(ms|s|m|h|d)/g)];
  if (parts.length === 0 || parts.map((p) => p[0]).join('') !== text) {
    throw new ConfigError(`"${text}" is not a Prometheus duration (e.g. 15m, 1h30m, 90s)`);
  }
  return parts.reduce((sum, p) => sum + Number(p[1]) * (UNIT_S[p[2] as string] as number), 0);
}

/**
 * The rules text with every `for:` multiplied by `forScale` (whole seconds, 0 stays 0) and
 * every group's `interval:` set to `intervalS`: the same alerts, expressions, labels and
 * annotations on a shorter clock. Throws when the text has no `for:` to scale.
 */
export function scaleRuleTimings(text: string, timing: RuleTiming): string {
  if (!(timing.forScale >= 0) || !(timing.intervalS > 0)) {
    throw new ConfigError(
      `rule timing needs forScale >= 0 and intervalS > 0, got ${timing.forScale} and ${timing.intervalS}`,
    );
  }
  let scaled = 0;
  const out = text
    .replace(/^(\s+)for: (\S+)$/gm, (_, indent: string, duration: string) => {
      scaled += 1;
      const seconds = Math.round(durationSeconds(duration) * timing.forScale);
      return `${indent}for: ${seconds}s`;
    })
    .replace(/^(\s+)interval: \S+$/gm, `$1interval: ${timing.intervalS}s`);
  if (scaled === 0) throw new ConfigError('the rules have no `for:` durations to scale');
  return out;
}

/**
 * A copy of a monitoring folder (alertmanager.yml, templates/, rules/) whose rule files are
 * generated from the source's at `timing`, so a shorter run sees the shipped alerts fire:
 * what the demo and the tests give Prometheus instead of a second hand-kept rules file.
 * Returns the copy's folder and its rule files.
 */
export async function writeScaledMonitoring(
  sourceDir: string,
  outDir: string,
  timing: RuleTiming,
): Promise<{ configDir: string; ruleFiles: string[] }> {
  await mkdir(join(outDir, 'rules'), { recursive: true });
  await cp(join(sourceDir, 'alertmanager.yml'), join(outDir, 'alertmanager.yml'));
  await cp(join(sourceDir, 'templates'), join(outDir, 'templates'), { recursive: true }).catch(
    (error: NodeJS.ErrnoException) => {
      if (error.code !== 'ENOENT') throw error;
    },
  );
  const names = (await readdir(join(sourceDir, 'rules'))).filter((n) => n.endsWith('.yml'));
  if (names.length === 0) throw new ConfigError(`${join(sourceDir, 'rules')} holds no *.yml rules`);
  const ruleFiles: string[] = [];
  for (const name of names.sort()) {
    const text = await readFile(join(sourceDir, 'rules', name), 'utf8');
    const path = join(outDir, 'rules', name);
    await writeFile(path, scaleRuleTimings(text, timing));
    ruleFiles.push(path);
  }
  return { configDir: outDir, ruleFiles };
}
