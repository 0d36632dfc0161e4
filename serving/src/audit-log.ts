import { appendFile, mkdir, readFile } from 'node:fs/promises';
import { dirname } from 'node:path';
import type { RolloutDecision } from '@reefguard/core';
import type { GateResult } from './promotion-policy.js';
import type { Alias } from './registry.js';

/** One promotion, canary or rollback decision, as appended to the audit log. */
export interface Decision {
  at: string;
  /** `retrain` records a retrain that failed; `canary-open` a canary window starting. */
  action: 'promote' | 'rollback' | 'canary-promote' | 'canary-rollback' | 'canary-open' | 'retrain';
  target: Alias;
  name: string;
  version: string | null;
  /** What the alias pointed at before. */
  previous: string | null;
  /** Whether an alias moved (false for failed gates and dry runs). */
  applied: boolean;
  dry_run: boolean;
  gates: GateResult[];
  reason: string;
  actor: string;
  trace_id: string;
  /** The retrain request the version came from, when a retrain result started this rollout. */
  retrain_request_id?: string;
  /** Canary weight, window and per-variant stats, for canary decisions. */
  canary?: RolloutDecision['canary'];
}

/** Append-only JSON Lines: one decision per line, never rewritten. */
export interface AuditLog {
  append(decision: Decision): Promise<void>;
  read(): Promise<Decision[]>;
}

export function createAuditLog(path: string): AuditLog {
  return {
    async append(decision) {
      await mkdir(dirname(path), { recursive: true });
      await appendFile(path, `${JSON.stringify(decision)}\n`);
    },
    async read() {
      const text = await readFile(path, 'utf8').catch(() => '');
      return text
        .split('\n')
        .filter((line) => line !== '')
        .map((line) => JSON.parse(line) as Decision);
    },
  };
}
