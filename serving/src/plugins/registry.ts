import fp from 'fastify-plugin';
import type { PromotionDeps } from '../promotion.js';
import type { ModelRegistry } from '../registry.js';

declare module 'fastify' {
  interface FastifyInstance {
    registry: ModelRegistry;
    promotion: PromotionDeps;
  }
}

export interface RegistryPluginOptions {
  promotion: PromotionDeps;
}

/** The model registry (MLflow or the local store) and what promotion decisions need. */
export default fp<RegistryPluginOptions>(
  async (app, options) => {
    app.decorate('registry', options.promotion.registry);
    app.decorate('promotion', options.promotion);
  },
  { name: 'registry' },
);
