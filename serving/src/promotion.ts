import { randomUUID } from 'node:crypto';
import {
  type ModelAnnouncement,
  type ModelCard,
  ModelError,
  type RetrainResult,
  type RolloutDecision,
} from '@reefguard/core';
import type { Announcer } from './announcer.js';
import type { AuditLog, Decision } from './audit-log.js';
import type { CanaryStats } from './canary.js';
import type { Variant } from './model-hub.js';
import {
  type Approval,
  evaluateGates,
  type GateResult,
  type PromotionPolicy,
} from './promotion-policy.js';
import type { Alias, ModelRegistry } from './registry.js';

/** Everything a promotion decision reads and writes. */
export interface PromotionDeps {
  registry: ModelRegistry;
  policy: PromotionPolicy;
  loadApprovals: () => Promise<Approval[]>;
  audit: AuditLog;
  announcer: Announcer | null;
  /** Base URL edge agents download model files from (this serving instance). */
  publicUrl: string;
  canaryWeight: number;
  actor: string;
  /** Per-variant stats of the current (or just closed) canary window, from whoever runs it. */
  canaryStats?: () => Record<Variant, CanaryStats>;
  /** Length of a canary window, for the decisions that report it. */
  canaryWindowMs?: number;
}

export function modelFileUrl(publicUrl: string, version: string, file: string): string {
  return `${publicUrl.replace(/\/$/, '')}/v1/models/${encodeURIComponent(version)}/${file}`;
}

function announcement(
  deps: PromotionDeps,
  version: string,
  card: ModelCard,
  alias: Alias,
  decision: ModelAnnouncement['decision'],
  traceId: string,
): ModelAnnouncement {
  return {
    schema_version: 1,
    name: card.name,
    version,
    alias,
    sha256: card.files.model.sha256,
    url: modelFileUrl(deps.publicUrl, version, card.files.model.path),
    card_url: modelFileUrl(deps.publicUrl, version, 'model-card.json'),
    canary_share: alias === 'challenger' ? deps.canaryWeight : 0,
    decision,
    trace_id: traceId,
    announced_at: new Date().toISOString(),
  };
}

/** The rollout stage a decision stands for, or null when it changed nothing worth telling. */
export function rolloutStage(decision: Decision): RolloutDecision['stage'] | null {
  if (decision.dry_run) return null;
  switch (decision.action) {
    case 'retrain':
      return 'rejected';
    case 'canary-open':
      return 'canary-open';
    case 'rollback':
    case 'canary-rollback':
      return decision.applied ? 'rolled-back' : null;
    default: {
      // Decided elsewhere (another replica's window): nothing happened here to tell.
      if (decision.gates.some((g) => g.gate === 'still_challenger' && !g.passed)) return null;
      if (decision.target === 'challenger') return decision.applied ? 'challenger' : 'rejected';
      if (decision.applied) return 'promoted';
      const canaryGates = decision.gates.filter((g) => g.gate.startsWith('canary_'));
      const healthy = canaryGates.length > 0 && canaryGates.every((g) => g.passed);
      return decision.action === 'canary-promote' && healthy ? 'held' : 'rejected';
    }
  }
}

/** The audit entry as the `rollout-decision` message published on NATS. */
export function toRolloutDecision(
  decision: Decision,
  stage: RolloutDecision['stage'],
): RolloutDecision {
  return {
    schema_version: 1,
    id: `decision/${decision.trace_id}/${stage}/${decision.version ?? 'none'}/${Date.parse(decision.at)}`,
    trace_id: decision.trace_id,
    stage,
    model_name: decision.name,
    version: decision.version,
    previous: decision.previous,
    applied: decision.applied,
    gates: decision.gates.map(({ gate, passed, detail }) => ({ gate, passed, detail })),
    canary: decision.canary,
    reason: decision.reason,
    retrain_request_id: decision.retrain_request_id,
    actor: decision.actor,
    decided_at: decision.at,
  };
}

/** Audits first, then publishes: a published decision is always in the audit log. */
async function record(deps: PromotionDeps, decision: Omit<Decision, 'at' | 'actor'>) {
  const full: Decision = { at: new Date().toISOString(), actor: deps.actor, ...decision };
  await deps.audit.append(full);
  const stage = rolloutStage(full);
  if (stage && deps.announcer) {
    await deps.announcer.publishDecision(toRolloutDecision(full, stage));
  }
  return full;
}

/** The applied challenger decision that put `version` in the canary: its trace and request. */
async function challengerOrigin(
  deps: PromotionDeps,
  version: string | null,
): Promise<Pick<Decision, 'trace_id' | 'retrain_request_id'> | null> {
  if (version === null) return null;
  const origin = (await deps.audit.read())
    .filter(
      (d) =>
        d.target === 'challenger' &&
        d.applied &&
        d.version === version &&
        (d.action === 'promote' || d.action === 'canary-promote'),
    )
    .at(-1);
  return origin
    ? { trace_id: origin.trace_id, retrain_request_id: origin.retrain_request_id }
    : null;
}

const toStats = (s: CanaryStats) => ({
  requests: s.requests,
  errors: s.errors,
  error_rate: s.errorRate,
  p50_ms: Number.isFinite(s.p50Ms) ? s.p50Ms : null,
});

/** Weight, window and (when known) per-variant stats of the canary, for canary decisions. */
function canarySummary(deps: PromotionDeps): NonNullable<Decision['canary']> {
  const stats = deps.canaryStats?.();
  return {
    weight: deps.canaryWeight,
    ...(deps.canaryWindowMs ? { window_s: deps.canaryWindowMs / 1000 } : {}),
    ...(stats ? { champion: toStats(stats.champion), challenger: toStats(stats.challenger) } : {}),
  };
}

async function modelName(deps: PromotionDeps, version: string | null): Promise<string> {
  return version ? (await deps.registry.readCard(version)).name : 'unknown';
}

/**
 * Moves `to` onto `version` (default: the newest version for challenger, the challenger for
 * champion) only when every gate of the policy passes. Every call is audited, moved or not.
 */
export async function promote(
  deps: PromotionDeps,
  request: {
    to: Alias;
    version?: string;
    dryRun?: boolean;
    traceId?: string;
    /** Gates measured elsewhere (the canary's health), added to the policy's. */
    extraGates?: GateResult[];
    action?: 'promote' | 'canary-promote';
    /** The retrain request behind the version (the rollout controller passes it). */
    retrainRequestId?: string;
  },
): Promise<Decision> {
  const { registry } = deps;
  const previous = await registry.getAlias(request.to);
  const version =
    request.version ??
    (request.to === 'champion'
      ? await registry.getAlias('challenger')
      : await registry.latestVersion());
  // A champion move continues the trace that made the version challenger.
  const origin = request.to === 'champion' ? await challengerOrigin(deps, version) : null;
  const action = request.action ?? 'promote';
  const base = {
    action,
    target: request.to,
    previous,
    dry_run: request.dryRun ?? false,
    trace_id: request.traceId ?? origin?.trace_id ?? randomUUID(),
    ...(request.retrainRequestId || origin?.retrain_request_id
      ? { retrain_request_id: request.retrainRequestId ?? origin?.retrain_request_id }
      : {}),
    ...(action === 'canary-promote' ? { canary: canarySummary(deps) } : {}),
  };
  const traceId = base.trace_id;
  if (version === null) {
    return record(deps, {
      ...base,
      name: 'unknown',
      version: null,
      applied: false,
      gates: [],
      reason: `no candidate for ${request.to}: nothing registered${request.to === 'champion' ? ' as challenger' : ''}`,
    });
  }
  const candidate = await registry.readCard(version);
  const championVersion = await registry.getAlias('champion');
  const champion = championVersion ? await registry.readCard(championVersion) : null;
  const gates = [
    ...evaluateGates({
      policy: deps.policy,
      target: request.to,
      candidateVersion: version,
      candidate,
      candidateSha256: candidate.files.model.sha256,
      championVersion,
      champion,
      approvals: request.to === 'champion' ? await deps.loadApprovals() : [],
      canaryHealthy:
        action === 'canary-promote' &&
        (request.extraGates ?? []).some((g) => g.gate.startsWith('canary_')) &&
        (request.extraGates ?? []).every((g) => g.passed),
    }),
    ...(request.extraGates ?? []),
  ];
  if (action === 'canary-promote') {
    // Every replica judges its own window; only the first decision may move an alias.
    const challenger = await registry.getAlias('challenger');
    gates.push({
      gate: 'still_challenger',
      passed: challenger === version,
      detail:
        challenger === version
          ? `${version} is the challenger`
          : `the canary of ${version} was already decided (challenger is ${challenger ?? 'unset'})`,
    });
  }
  if (gates.every((g) => g.passed) && !base.dry_run) {
    // Fetch first: an alias never points at a version whose files do not check out.
    gates.push(
      await registry.fetch(version).then(
        () => ({ gate: 'artifact_sha256', passed: true, detail: 'files match the card' }),
        (error: unknown) => {
          if (!(error instanceof ModelError)) throw error;
          return { gate: 'artifact_sha256', passed: false, detail: error.message };
        },
      ),
    );
  }
  const failed = gates.filter((g) => !g.passed).map((g) => g.gate);
  const passed = failed.length === 0;
  const apply = passed && !base.dry_run;
  if (apply) {
    await registry.setAlias(request.to, version);
    if (request.to === 'champion' && (await registry.getAlias('challenger')) === version) {
      await registry.deleteAlias('challenger');
    }
  }
  const decision = await record(deps, {
    ...base,
    name: candidate.name,
    version,
    applied: apply,
    gates,
    reason: passed
      ? base.dry_run
        ? `dry run: every gate passed, ${request.to} stays on ${previous ?? 'nothing'}`
        : `${request.to} moved from ${previous ?? 'nothing'} to ${version}`
      : `gates failed: ${failed.join(', ')}; ${request.to} stays on ${previous ?? 'nothing'}`,
  });
  if (apply && deps.announcer) {
    const decisionKind = request.to === 'champion' ? 'promote' : 'canary';
    await deps.announcer.announce(
      announcement(deps, version, candidate, request.to, decisionKind, traceId),
    );
  }
  return decision;
}

/**
 * Ends a canary by removing the challenger alias; with no canary running, puts the champion
 * back on the version it replaced at its last audited promotion.
 */
export async function rollback(
  deps: PromotionDeps,
  request: {
    reason: string;
    action?: 'rollback' | 'canary-rollback';
    traceId?: string;
    gates?: GateResult[];
  },
): Promise<Decision> {
  const { registry } = deps;
  const action = request.action ?? 'rollback';
  const challenger = await registry.getAlias('challenger');
  const champion = await registry.getAlias('champion');
  if (challenger !== null) {
    // Withdrawing a challenger ends the trace that made it one.
    const origin = await challengerOrigin(deps, challenger);
    const traceId = request.traceId ?? origin?.trace_id ?? randomUUID();
    await registry.deleteAlias('challenger');
    const decision = await record(deps, {
      action,
      target: 'challenger',
      name: await modelName(deps, challenger),
      version: challenger,
      previous: challenger,
      applied: true,
      dry_run: false,
      gates: request.gates ?? [],
      reason: `challenger ${challenger} withdrawn: ${request.reason}`,
      trace_id: traceId,
      ...(origin?.retrain_request_id ? { retrain_request_id: origin.retrain_request_id } : {}),
      ...(action === 'canary-rollback' ? { canary: canarySummary(deps) } : {}),
    });
    if (champion && deps.announcer) {
      const card = await registry.readCard(champion);
      await deps.announcer.announce(
        announcement(deps, champion, card, 'champion', 'rollback', traceId),
      );
    }
    return decision;
  }
  const traceId = request.traceId ?? randomUUID();
  if (action === 'canary-rollback') {
    // A canary window closing with no challenger left was decided elsewhere (another replica
    // or an operator): it must not undo that by restoring an older champion.
    return record(deps, {
      action,
      target: 'challenger',
      name: await modelName(deps, champion),
      version: null,
      previous: null,
      applied: false,
      dry_run: false,
      gates: request.gates ?? [],
      reason: `no challenger left to withdraw: the canary was already decided; champion stays on ${champion ?? 'nothing'}`,
      trace_id: traceId,
    });
  }
  const promotions = (await deps.audit.read()).filter(
    (d) => d.target === 'champion' && d.applied && d.version === champion && d.previous !== null,
  );
  const last = promotions.at(-1);
  if (!last?.previous) {
    return record(deps, {
      action,
      target: 'champion',
      name: await modelName(deps, champion),
      version: champion,
      previous: champion,
      applied: false,
      dry_run: false,
      gates: [],
      reason: `nothing to roll back: no canary running and no audited earlier champion than ${champion ?? 'nothing'}`,
      trace_id: traceId,
    });
  }
  await registry.fetch(last.previous);
  await registry.setAlias('champion', last.previous);
  const card = await registry.readCard(last.previous);
  const decision = await record(deps, {
    action,
    target: 'champion',
    name: card.name,
    version: last.previous,
    previous: champion,
    applied: true,
    dry_run: false,
    gates: [],
    reason: `champion back from ${champion} to ${last.previous}: ${request.reason}`,
    trace_id: traceId,
  });
  if (deps.announcer) {
    await deps.announcer.announce(
      announcement(deps, last.previous, card, 'champion', 'rollback', traceId),
    );
  }
  return decision;
}

/**
 * Records that serving opened the canary window for the challenger `version`: `weight` of
 * sites (and the same share of the edge fleet) run it until the window closes.
 */
export async function recordCanaryOpen(deps: PromotionDeps, version: string): Promise<Decision> {
  const origin = await challengerOrigin(deps, version);
  const summary = canarySummary(deps);
  const champion = await deps.registry.getAlias('champion');
  return record(deps, {
    action: 'canary-open',
    target: 'challenger',
    name: await modelName(deps, version),
    version,
    previous: champion,
    applied: true,
    dry_run: false,
    gates: [],
    reason: `canary open: ${(summary.weight * 100).toFixed(0)} % of sites and of the edge fleet on ${version} against champion ${champion ?? 'nothing'}${summary.window_s ? ` for ${summary.window_s} s` : ''}`,
    trace_id: origin?.trace_id ?? randomUUID(),
    canary: { weight: summary.weight, window_s: summary.window_s },
    ...(origin?.retrain_request_id ? { retrain_request_id: origin.retrain_request_id } : {}),
  });
}

/** Records a retrain that produced no model: nothing moves, the trace says why. */
export async function recordFailedRetrain(
  deps: PromotionDeps,
  result: RetrainResult,
): Promise<Decision> {
  return record(deps, {
    action: 'retrain',
    target: 'challenger',
    name: result.model_name,
    version: result.model_version,
    previous: await deps.registry.getAlias('challenger'),
    applied: false,
    dry_run: false,
    gates: [{ gate: 'retrain', passed: false, detail: result.reason ?? 'no reason given' }],
    reason: `retrain ${result.request_id} failed: ${result.reason ?? 'no reason given'}; no alias moved`,
    trace_id: result.trace_id,
    retrain_request_id: result.request_id,
  });
}
