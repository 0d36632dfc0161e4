import { parseArgs } from 'node:util';
import { loadServingConfig } from '../config.js';
import { promote } from '../promotion.js';
import { createPromotionDeps } from '../server.js';

/** `./reefguard promote [--to challenger|champion] [--version N] [--dry-run]`. */
export async function run(args: string[]): Promise<number> {
  const { values } = parseArgs({
    args,
    options: {
      to: { type: 'string', default: 'challenger' },
      version: { type: 'string' },
      'dry-run': { type: 'boolean', default: false },
    },
  });
  if (values.to !== 'challenger' && values.to !== 'champion') {
    console.error(`--to must be challenger or champion, not "${values.to}"`);
    return 2;
  }
  const deps = await createPromotionDeps(loadServingConfig(process.env), 'cli');
  try {
    const decision = await promote(deps, {
      to: values.to,
      version: values.version,
      dryRun: values['dry-run'],
    });
    for (const gate of decision.gates) {
      console.log(`${gate.passed ? 'pass' : 'FAIL'}  ${gate.gate.padEnd(20)} ${gate.detail}`);
    }
    console.log(decision.reason);
    return decision.gates.length > 0 && decision.gates.every((g) => g.passed) ? 0 : 1;
  } finally {
    await deps.announcer?.close();
  }
}
