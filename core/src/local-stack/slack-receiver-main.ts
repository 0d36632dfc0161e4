import { parseArgs } from 'node:util';
import { startSlackReceiver } from './slack-receiver.js';

/**
 * The Slack stand-in as its own process, for `reefguard services start` (which leaves its
 * servers running): `node slack-receiver-main.js --port N --record FILE`.
 */
const { values } = parseArgs({
  options: { port: { type: 'string' }, record: { type: 'string' } },
});
const port = Number(values.port ?? 0);
if (!Number.isInteger(port) || port < 0 || port > 65535) {
  console.error(`--port ${values.port}: not a port number`);
  process.exit(2);
}
const receiver = await startSlackReceiver({
  port,
  ...(values.record ? { recordFile: values.record } : {}),
});
console.log(`slack receiver on ${receiver.url}`);
const stop = () => void receiver.close().then(() => process.exit(0));
process.once('SIGTERM', stop);
process.once('SIGINT', stop);
