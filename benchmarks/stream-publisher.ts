/**
 * Publishes live-looking readings at a fixed rate for the stream-throughput benchmark, in its
 * own process so that publishing does not eat the processor's CPU accounting. Each reading's
 * observed_at is its publish time, so the processor side can measure publish -> online.
 * Args: natsUrl subjectRoot sites ratePerS seconds
 */
import { readingId } from '@reefguard/core';
import { connectNats } from '@reefguard/stream-processor';

const [natsUrl, root, sitesArg, rateArg, secondsArg] = process.argv.slice(2);
const sites = Number(sitesArg);
const rate = Number(rateArg);
const total = rate * Number(secondsArg);
const nc = await connectNats(natsUrl as string);
const start = Date.now();
// CPU of the publishing alone (loading the modules above costs more than a 10 s run's sends).
const cpuStart = process.cpuUsage();
let sent = 0;
while (sent < total) {
  // Publish what is due by now, in 1 ms slices, so the rate is steady rather than bursty.
  const due = Math.min(total, Math.floor(((Date.now() - start) * rate) / 1000));
  while (sent < due) {
    const now = Date.now();
    const site = `site-${sent % sites}`;
    const observedAt = new Date(now).toISOString();
    const station = `${site}-buoy`;
    const id = `${readingId(station, 'water_temperature', observedAt)}-${sent}`;
    nc.publish(
      `${root}.${site}`,
      `{"schema_version":1,"id":"${id}","site_id":"${site}","station_id":"${station}","parameter":"water_temperature","value":${(27 + (sent % 30) / 10).toFixed(1)},"unit":"degC","observed_at":"${observedAt}","source":"generated"}`,
    );
    sent += 1;
  }
  await new Promise((r) => setTimeout(r, 1));
}
await nc.flush();
await nc.close();
const cpu = process.cpuUsage(cpuStart);
process.stdout.write(
  `published ${sent} in ${Date.now() - start} ms, cpu ${cpu.user + cpu.system} us\n`,
);
