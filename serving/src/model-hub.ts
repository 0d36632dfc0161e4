import { ModelError } from '@reefguard/core';
import { routeVariant } from './canary-routing.js';
import type { ServingModel } from './model-session.js';

export type Variant = 'champion' | 'challenger';

/** What answers right now: one immutable value, replaced whole on reload. */
export interface ModelSet {
  readonly champion: ServingModel;
  readonly challenger: ServingModel | null;
  readonly challengerWeight: number;
}

export interface Lease {
  readonly model: ServingModel;
  readonly variant: Variant;
  release(): void;
}

/**
 * Holds the live model set. A request leases its model; `swap` installs a new set in one
 * assignment and closes the sessions it replaced only once their last lease is released, so a
 * reload under load never fails a request or runs a closed session.
 */
export interface ModelHub {
  current(): ModelSet | null;
  /** The model for a site by the canary split; `null` always gets the champion. */
  lease(siteId: string | null): Lease;
  swap(next: ModelSet): void;
  setWeight(weight: number): void;
  close(): Promise<void>;
}

interface Tracked {
  leases: number;
  retired: boolean;
}

export function createModelHub(): ModelHub {
  let set: ModelSet | null = null;
  const tracked = new Map<ServingModel, Tracked>();

  const track = (model: ServingModel) => {
    if (!tracked.has(model)) tracked.set(model, { leases: 0, retired: false });
  };
  const retire = (model: ServingModel) => {
    const entry = tracked.get(model);
    if (!entry) return;
    entry.retired = true;
    if (entry.leases === 0) {
      tracked.delete(model);
      void model.close();
    }
  };

  return {
    current: () => set,
    lease(siteId) {
      const live = set;
      if (!live) throw new ModelError('no model is loaded yet: register a champion and reload');
      const variant =
        live.challenger &&
        siteId !== null &&
        routeVariant(siteId, live.challengerWeight) === 'challenger'
          ? 'challenger'
          : 'champion';
      const model = variant === 'challenger' ? (live.challenger as ServingModel) : live.champion;
      const entry = tracked.get(model) as Tracked;
      entry.leases += 1;
      let released = false;
      return {
        model,
        variant,
        release() {
          if (released) return;
          released = true;
          entry.leases -= 1;
          if (entry.retired && entry.leases === 0) retire(model);
        },
      };
    },
    swap(next) {
      const previous = set;
      track(next.champion);
      if (next.challenger) track(next.challenger);
      set = next;
      const kept = new Set([next.champion, next.challenger]);
      for (const model of [previous?.champion, previous?.challenger]) {
        if (model && !kept.has(model)) retire(model);
      }
    },
    setWeight(weight) {
      if (set) set = { ...set, challengerWeight: weight };
    },
    async close() {
      const models = [...tracked.keys()];
      tracked.clear();
      set = null;
      await Promise.all(models.map((model) => model.close()));
    },
  };
}
