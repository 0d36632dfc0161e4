import { readFile } from 'node:fs/promises';
import { ConfigError, type ModelCard } from '@reefguard/core';
import { z } from 'zod';
import type { Alias } from './registry.js';

/** The promotion policy file (models/promotion-policy.json): gates and canary thresholds. */
export const promotionPolicySchema = z.object({
  gates: z.object({
    /** The model must beat the CRW baseline F1 on every held-out event of its card. */
    beats_crw_baseline: z.boolean(),
    /** Overall F1 at the card's threshold must reach this (the seed's 0.85). */
    f1_floor: z.number().min(0).max(1),
    /** Mean F1 on the events both cards hold may drop at most this below the champion's. */
    max_f1_regression: z.number().min(0).max(1),
  }),
  champion: z.object({
    /** `name version [sha256]` lines, changed only by reviewed pull request. */
    approved_list: z.string().min(1),
    /**
     * How an unattended loop treats a version missing from the list. `never` (the default,
     * and production's): it stays challenger until a reviewed PR lists it. `after-healthy-canary`
     * (the demo's and the loop tests' policy only): a version whose canary window passed every
     * health gate counts as approved; `./reefguard promote --to champion` still needs the list.
     */
    auto_approve: z.enum(['never', 'after-healthy-canary']).optional(),
  }),
  canary: z.object({
    /** Challenger error rate may exceed the champion's by less than this (absolute). */
    max_error_rate_increase: z.number().min(0).max(1),
    /** Challenger median latency may exceed the champion's by less than this share... */
    max_latency_increase: z.number().min(0),
    /** ...or by less than this many milliseconds, below which timing noise dominates. */
    latency_slack_ms: z.number().min(0),
    /** Fewer challenger requests than this in the window cannot justify a promotion. */
    min_requests: z.number().int().min(0),
  }),
});

export type PromotionPolicy = z.infer<typeof promotionPolicySchema>;

export async function loadPolicy(path: string): Promise<PromotionPolicy> {
  try {
    return promotionPolicySchema.parse(JSON.parse(await readFile(path, 'utf8')));
  } catch (cause) {
    throw new ConfigError(`promotion policy ${path} is missing or invalid`, { cause });
  }
}

export interface Approval {
  name: string;
  version: string;
  sha256?: string;
}

/** Parses approved_models.txt: `name version [sha256]` per line, `#` comments. */
export async function loadApprovals(path: string): Promise<Approval[]> {
  const text = await readFile(path, 'utf8').catch((cause: unknown) => {
    throw new ConfigError(`approved models list ${path} is missing`, { cause });
  });
  return text
    .split('\n')
    .map((line) => line.replace(/#.*/, '').trim())
    .filter((line) => line !== '')
    .map((line) => {
      const [name = '', version = '', sha256] = line.split(/\s+/);
      return { name, version, sha256 };
    });
}

export interface GateResult {
  gate: string;
  passed: boolean;
  detail: string;
}

const f1 = (value: number | null | undefined) => value ?? Number.NaN;
const fmt = (value: number) => (Number.isNaN(value) ? 'n/a' : value.toFixed(3));

/** Evaluates every gate for moving `candidate` to `target`; all must pass. */
export function evaluateGates(input: {
  policy: PromotionPolicy;
  target: Alias;
  /** Registry versions: the card's own version string may differ from the registry's. */
  candidateVersion: string;
  candidate: ModelCard;
  candidateSha256: string;
  championVersion: string | null;
  champion: ModelCard | null;
  approvals: readonly Approval[];
  /** The candidate just passed every health gate of its canary window. */
  canaryHealthy?: boolean;
}): GateResult[] {
  const { policy, candidate, champion } = input;
  const results: GateResult[] = [];
  const events = candidate.metrics.held_out_events;

  if (policy.gates.beats_crw_baseline) {
    const losing = events.filter((e) => !(f1(e.model.f1) > f1(e.crw_baseline.f1)));
    const detail = events
      .map((e) => `${e.event}: ${fmt(f1(e.model.f1))} vs CRW ${fmt(f1(e.crw_baseline.f1))}`)
      .join('; ');
    results.push({
      gate: 'beats_crw_baseline',
      passed: events.length > 0 && losing.length === 0,
      detail: events.length === 0 ? 'the card has no held-out events' : detail,
    });
  }

  const overall = f1(candidate.metrics.overall.model.f1);
  results.push({
    gate: 'f1_floor',
    passed: overall >= policy.gates.f1_floor,
    detail: `F1 ${fmt(overall)} at threshold ${candidate.threshold}, floor ${policy.gates.f1_floor}`,
  });

  if (!champion || input.championVersion === input.candidateVersion) {
    results.push({ gate: 'no_regression', passed: true, detail: 'no other champion to compare' });
  } else {
    // Events without an F1 on either side (no positive label, too few rows) cannot be compared;
    // averaging them in would make every comparison n/a.
    const theirs = new Map(
      champion.metrics.held_out_events
        .filter((e) => !Number.isNaN(f1(e.model.f1)))
        .map((e) => [e.event, f1(e.model.f1)]),
    );
    const shared = events.filter((e) => theirs.has(e.event) && !Number.isNaN(f1(e.model.f1)));
    const mean = (xs: number[]) => xs.reduce((a, b) => a + b, 0) / xs.length;
    const ours = mean(shared.map((e) => f1(e.model.f1)));
    const champ = mean(shared.map((e) => theirs.get(e.event) as number));
    const drop = champ - ours;
    results.push({
      gate: 'no_regression',
      passed: shared.length > 0 && drop <= policy.gates.max_f1_regression + 1e-12,
      detail:
        shared.length === 0
          ? `no held-out event with an F1 shared with champion ${input.championVersion}`
          : `mean F1 on ${shared.map((e) => e.event).join(', ')}: ${fmt(ours)} vs champion ${input.championVersion} ${fmt(champ)} (max drop ${policy.gates.max_f1_regression})`,
    });
  }

  if (input.target === 'champion') {
    const approved = input.approvals.find(
      (a) => a.name === candidate.name && a.version === input.candidateVersion,
    );
    const shaOk = !approved?.sha256 || approved.sha256 === input.candidateSha256;
    const autoApproved =
      !approved &&
      policy.champion.auto_approve === 'after-healthy-canary' &&
      input.canaryHealthy === true;
    results.push({
      gate: 'approved',
      passed: (approved !== undefined && shaOk) || autoApproved,
      detail: autoApproved
        ? `not in ${policy.champion.approved_list}; auto-approved after a healthy canary (policy auto_approve: after-healthy-canary)`
        : !approved
          ? `${candidate.name} ${input.candidateVersion} is not in ${policy.champion.approved_list}`
          : shaOk
            ? `listed in ${policy.champion.approved_list}`
            : `listed with sha256 ${approved.sha256}, but the file has ${input.candidateSha256}`,
    });
  }
  return results;
}
