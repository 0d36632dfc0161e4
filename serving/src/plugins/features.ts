import fp from 'fastify-plugin';
import type { Redis } from 'ioredis';
import { createFeatureReader, type FeatureReader } from '../feature-store.js';
import type { SiteCatalog } from '../sites.js';

declare module 'fastify' {
  interface FastifyInstance {
    features: FeatureReader;
    sites: SiteCatalog;
  }
}

export interface FeaturesPluginOptions {
  /** Owned by the caller, which closes it after the app. */
  redis: Redis;
  sites: SiteCatalog;
}

/** The online feature store and the site catalogue every prediction starts from. */
export default fp<FeaturesPluginOptions>(
  async (app, options) => {
    app.decorate('features', createFeatureReader(options.redis));
    app.decorate('sites', options.sites);
  },
  { name: 'features' },
);
