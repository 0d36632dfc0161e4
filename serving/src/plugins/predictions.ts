import fp from 'fastify-plugin';
import type { PredictionPublisher } from '../prediction-publisher.js';

declare module 'fastify' {
  interface FastifyInstance {
    /** Where answered predictions go (NATS), or null when publishing is off. */
    predictions: PredictionPublisher | null;
  }
}

export interface PredictionsPluginOptions {
  /** Owned by the caller, which closes it after the app (so the last answers still go out). */
  publisher: PredictionPublisher | null;
}

/** The predictions topic: every answer of the predict routes, batched and fire-and-forget. */
export default fp<PredictionsPluginOptions>(
  async (app, options) => {
    app.decorate('predictions', options.publisher);
  },
  { name: 'predictions' },
);
