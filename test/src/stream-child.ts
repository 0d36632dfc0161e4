/**
 * A stream processor in a child process, for tests that kill it with SIGKILL. It prints
 * `committed <n>` after the first batch is written and before it is acknowledged, then hangs,
 * so the parent can kill it exactly between the write and the ack.
 */
import { connect } from '@nats-io/transport-node';
import { startStreamProcessor } from '@reefguard/stream-processor';
import { Redis } from 'ioredis';
import { TEST_SITES } from './stream-helpers.js';

const args = JSON.parse(process.argv[2] ?? '{}') as {
  natsUrl: string;
  redisUrl: string;
  offlinePath: string;
  stream: string;
  subjects: string[];
  durable: string;
  statePrefix: string;
  onlinePrefix: string;
};
const nc = await connect({ servers: args.natsUrl });
const redis = new Redis(args.redisUrl);
await startStreamProcessor({
  nc,
  redis,
  sites: TEST_SITES,
  offlinePath: args.offlinePath,
  stream: args.stream,
  subjects: args.subjects,
  durable: args.durable,
  statePrefix: args.statePrefix,
  onlineKeyOf: (site) => `${args.onlinePrefix}${site}`,
  afterCommit: async (outcome) => {
    process.stdout.write(`committed ${outcome.deliveries.length}\n`);
    await new Promise(() => undefined);
  },
});
process.stdout.write('ready\n');
