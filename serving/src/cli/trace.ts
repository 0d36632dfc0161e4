import { parseArgs } from 'node:util';
import { connect } from '@nats-io/transport-node';
import { createAuditLog } from '../audit-log.js';
import { loadServingConfig } from '../config.js';
import { formatTrace, readTrace } from '../rollout-trace.js';
import { auditLogPath } from '../server.js';

/**
 * `./reefguard trace TRACE_ID [--json]`: the closed loop of one trace id in order, from the
 * loop's JetStream streams (drift, retrain, models) and serving's audit log.
 */
export async function run(args: string[]): Promise<number> {
  const { values, positionals } = parseArgs({
    args,
    allowPositionals: true,
    options: { json: { type: 'boolean', default: false } },
  });
  const [traceId] = positionals;
  if (!traceId || positionals.length > 1) {
    console.error('usage: reefguard trace TRACE_ID [--json] (the trace_id of a drift event)');
    return 2;
  }
  const config = loadServingConfig(process.env);
  const nc = await connect({
    servers: config.NATS_URL,
    token: config.NATS_TOKEN?.reveal(),
    name: 'reefguard-trace',
  });
  try {
    const steps = await readTrace(nc, createAuditLog(auditLogPath(config)), traceId);
    if (steps.length === 0) {
      console.error(
        `nothing carries trace ${traceId} in the loop streams on ${config.NATS_URL} or in ${auditLogPath(config)}`,
      );
      return 1;
    }
    if (values.json) for (const step of steps) console.log(JSON.stringify(step));
    else for (const line of formatTrace(steps)) console.log(line);
    return 0;
  } finally {
    await nc.close();
  }
}
