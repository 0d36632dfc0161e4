import { parseArgs } from 'node:util';
import { loadServingConfig } from '../config.js';
import { rollback } from '../promotion.js';
import { createPromotionDeps } from '../server.js';

/** `./reefguard rollback [--reason TEXT]`: end the canary, or restore the previous champion. */
export async function run(args: string[]): Promise<number> {
  const { values } = parseArgs({
    args,
    options: { reason: { type: 'string', default: 'operator rollback from the CLI' } },
  });
  const deps = await createPromotionDeps(loadServingConfig(process.env), 'cli');
  try {
    const decision = await rollback(deps, { reason: values.reason });
    console.log(decision.reason);
    return decision.applied ? 0 : 1;
  } finally {
    await deps.announcer?.close();
  }
}
