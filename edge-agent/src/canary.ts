import { createHash } from 'node:crypto';
import type { ModelAnnouncement } from '@reefguard/core';

/**
 * The agent's fixed place in [0, 1): the first 32 bits of sha256(agentId). The same agent
 * always lands in the same place, so a canary share of 0.1 always picks the same 10 % of
 * the fleet and raising the share only adds agents.
 */
export function cohortPosition(agentId: string): number {
  return createHash('sha256').update(agentId).digest().readUInt32BE(0) / 2 ** 32;
}

export function inCanaryCohort(agentId: string, canaryShare: number): boolean {
  return cohortPosition(agentId) < canaryShare;
}

/**
 * Whether this agent should run the announced model: a challenger only inside the canary
 * cohort; a champion (promotion or rollback) everywhere, except that agents of the cohort
 * keep a challenger they run while the champion is merely re-announced during the canary.
 */
export function takesAnnouncement(agentId: string, announcement: ModelAnnouncement): boolean {
  const canary = inCanaryCohort(agentId, announcement.canary_share);
  if (announcement.alias === 'challenger') return canary;
  if (announcement.decision === 'canary') return !canary;
  return true;
}
