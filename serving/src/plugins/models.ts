import { ModelError } from '@reefguard/core';
import fp from 'fastify-plugin';
import type { Decision } from '../audit-log.js';
import { type CanaryMonitor, createCanaryMonitor } from '../canary.js';
import { createModelHub, type ModelHub, type ModelSet } from '../model-hub.js';
import { loadServingModel, type ServingModel } from '../model-session.js';
import { promote, rollback } from '../promotion.js';
import type { Alias } from '../registry.js';

declare module 'fastify' {
  interface FastifyInstance {
    models: ModelService;
  }
}

/** The live champion / challenger sessions, their reload and the canary that judges them. */
export interface ModelService {
  readonly hub: ModelHub;
  readonly canary: CanaryMonitor;
  /** Loads what the registry aliases point at and swaps it in atomically. */
  reload(): Promise<ModelSet>;
  setWeight(weight: number): void;
  /** Closes the canary window now: promote or roll back by its health gates. */
  decideCanary(): Promise<Decision>;
  /** Why the models are not ready, or null when the champion is loaded. */
  notReadyReason(): string | null;
}

export interface ModelsPluginOptions {
  canaryWeight: number;
  canaryWindowMs: number;
  /** How often to look for alias moves made elsewhere (`./reefguard promote`); 0: never. */
  registryPollMs?: number;
}

export default fp<ModelsPluginOptions>(
  async (app, options) => {
    const hub = createModelHub();
    const canary = createCanaryMonitor();
    let weight = options.canaryWeight;
    let lastError: string | null = 'models not loaded yet';
    let reloading: Promise<unknown> = Promise.resolve();

    async function load(alias: Alias, live: ServingModel[]): Promise<ServingModel | null> {
      const version = await app.registry.getAlias(alias);
      if (version === null) return null;
      const dir = await app.registry.fetch(version);
      // An unchanged version keeps its warm session (a promoted challenger keeps its own).
      const card = await app.registry.readCard(version);
      const warm = live.find((m) => m.version === version && m.sha256 === card.files.model.sha256);
      return warm ?? loadServingModel(dir, version);
    }

    async function reloadOnce(): Promise<ModelSet> {
      const set = hub.current();
      const live = [set?.champion, set?.challenger].filter((m): m is ServingModel => !!m);
      const champion = await load('champion', live);
      if (!champion)
        throw new ModelError('no champion alias is set in the registry: run ./reefguard promote');
      const challenger = await load('challenger', [...live, champion]);
      const next: ModelSet = {
        champion,
        challenger: challenger && challenger.version !== champion.version ? challenger : null,
        challengerWeight: weight,
      };
      hub.swap(next);
      lastError = null;
      if (!next.challenger) canary.close();
      else if (canary.version !== next.challenger.version) {
        canary.open(next.challenger.version, options.canaryWindowMs, () => {
          service
            .decideCanary()
            .catch((error: unknown) => app.log.error({ err: error }, 'canary decision failed'));
        });
      }
      app.log.info(
        { champion: champion.version, challenger: next.challenger?.version ?? null, weight },
        'models loaded',
      );
      return next;
    }

    const service: ModelService = {
      hub,
      canary,
      reload() {
        // One reload at a time, in call order: each reads the registry after the previous
        // swapped, so a reload asked for after an alias moved always sees the move.
        const next = reloading
          .catch(() => {})
          .then(reloadOnce)
          .catch((error: unknown) => {
            lastError = error instanceof Error ? error.message : String(error);
            throw error;
          });
        reloading = next;
        return next;
      },
      setWeight(next) {
        weight = next;
        app.promotion.canaryWeight = next;
        hub.setWeight(next);
      },
      async decideCanary() {
        const version = canary.version;
        const gates = canary.verdict(app.promotion.policy.canary);
        canary.close();
        const healthy = gates.every((gate) => gate.passed);
        const decision = healthy
          ? await promote(app.promotion, {
              to: 'champion',
              version: version ?? undefined,
              extraGates: gates,
              action: 'canary-promote',
            })
          : await rollback(app.promotion, {
              action: 'canary-rollback',
              gates,
              reason: `canary health failed: ${gates
                .filter((g) => !g.passed)
                .map((g) => g.detail)
                .join('; ')}`,
            });
        await service.reload();
        return decision;
      },
      notReadyReason: () => (hub.current() ? null : lastError),
    };

    app.decorate('models', service);

    // Aliases moved by the CLI or another replica: reload when they no longer match.
    const poll = options.registryPollMs
      ? setInterval(async () => {
          try {
            const set = hub.current();
            const [champion, challenger] = await Promise.all([
              app.registry.getAlias('champion'),
              app.registry.getAlias('challenger'),
            ]);
            const live = set?.challenger?.version ?? null;
            if (
              champion !== (set?.champion.version ?? null) ||
              (challenger !== live && challenger !== champion)
            ) {
              await service.reload();
            }
          } catch (error) {
            app.log.warn({ err: error }, 'registry poll failed; keeping the loaded models');
          }
        }, options.registryPollMs)
      : null;
    poll?.unref();

    app.addHook('onClose', async () => {
      if (poll) clearInterval(poll);
      canary.close();
      await hub.close();
    });
    await service.reload().catch((error: unknown) => {
      app.log.warn({ err: error }, 'no models loaded at start; /readyz reports why');
    });
  },
  { name: 'models', dependencies: ['registry'] },
);
