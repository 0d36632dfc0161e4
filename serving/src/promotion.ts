import { randomUUID } from 'node:crypto';
import { type ModelAnnouncement, type ModelCard, ModelError } from '@reefguard/core';
import type { Announcer } from './announcer.js';
import type { AuditLog, Decision } from './audit-log.js';
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

async function record(deps: PromotionDeps, decision: Omit<Decision, 'at' | 'actor'>) {
  const full: Decision = { at: new Date().toISOString(), actor: deps.actor, ...decision };
  await deps.audit.append(full);
  return full;
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
  },
): Promise<Decision> {
  const { registry } = deps;
  const traceId = request.traceId ?? randomUUID();
  const previous = await registry.getAlias(request.to);
  const version =
    request.version ??
    (request.to === 'champion'
      ? await registry.getAlias('challenger')
      : await registry.latestVersion());
  const base = {
    action: request.action ?? 'promote',
    target: request.to,
    previous,
    dry_run: request.dryRun ?? false,
    trace_id: traceId,
  };
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
    }),
    ...(request.extraGates ?? []),
  ];
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
  const traceId = request.traceId ?? randomUUID();
  const action = request.action ?? 'rollback';
  const challenger = await registry.getAlias('challenger');
  const champion = await registry.getAlias('champion');
  if (challenger !== null) {
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
    });
    if (champion && deps.announcer) {
      const card = await registry.readCard(champion);
      await deps.announcer.announce(
        announcement(deps, champion, card, 'champion', 'rollback', traceId),
      );
    }
    return decision;
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
