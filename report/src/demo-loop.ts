import { join } from 'node:path';
import { loadReplayPixels } from '@reefguard/stream-processor';
import type { DemoOptions } from './demo.js';
import type { Gateway } from './demo-gateways.js';
import type { Progress } from './demo-progress.js';
import { readEvents } from './event-log.js';

const FINAL_STAGES = new Set([
  'promoted',
  'rolled-back',
  'rejected',
  'held',
  'canary-promote',
  'canary-rollback',
]);

/**
 * Follows the loop through the recorded events until a retrain's rollout ends (promoted,
 * rolled back, rejected or held) or the loop budget runs out; sends prediction traffic while
 * a canary is open, since the canary judges real requests.
 */
export async function followLoop(
  stateDir: string,
  apiUrl: string,
  gateways: Gateway[],
  options: Pick<DemoOptions, 'root' | 'season' | 'loopTimeoutS' | 'signal'>,
  progress: Progress,
): Promise<string> {
  const seen = new Set<string>();
  const say = (key: string, text: string) => {
    if (seen.has(key)) return;
    seen.add(key);
    progress.info(text);
  };
  const sites = await sampleSites(options.root, options.season, gateways);
  let outcome: string | null = null;
  const deadline = Date.now() + options.loopTimeoutS * 1000;
  while (Date.now() < deadline && !options.signal.aborted) {
    const drift = (await readEvents(stateDir, 'drift')).map(
      (e) => e.data as Record<string, unknown>,
    );
    const firstDrifted = drift.find((d) => d.drifted === true);
    if (firstDrifted)
      say(
        'drift',
        `drift: ${String(firstDrifted.feature)} PSI ${Number(firstDrifted.psi).toFixed(2)} > ${String(firstDrifted.threshold)}`,
      );
    for (const e of await readEvents(stateDir, 'retrain')) {
      const d = e.data as Record<string, unknown>;
      if (e.subject.endsWith('.requests'))
        say(
          `req-${d.id}`,
          `retrain requested (${String(d.reason)}: ${String(d.features)}), trace ${String(d.trace_id)}`,
        );
      if (e.subject.endsWith('.results'))
        say(
          `res-${d.request_id}`,
          `retrain ${String(d.status)}: model v${String(d.model_version)}${d.reason ? ` (${String(d.reason)})` : ''}`,
        );
    }
    let canaryOpen = false;
    for (const e of await readEvents(stateDir, 'models')) {
      const d = e.data as Record<string, unknown>;
      if (e.subject.endsWith('.decisions')) {
        say(
          `dec-${d.id}`,
          `rollout ${String(d.stage)}: v${String(d.version)} (${String(d.reason)})`,
        );
        if (d.stage === 'canary-open') canaryOpen = true;
        if (FINAL_STAGES.has(String(d.stage)) && d.retrain_request_id)
          outcome = `${String(d.stage)} v${String(d.version)}: ${String(d.reason)}`;
        if (d.stage === 'rejected' && !d.retrain_request_id) outcome ??= null;
      } else {
        say(
          `ann-${d.version}-${d.alias}-${d.decision}`,
          `announced v${String(d.version)} as ${String(d.alias)} (${String(d.decision)}) to the edge`,
        );
      }
    }
    if (outcome) return outcome;
    if (canaryOpen) await sendTraffic(apiUrl, sites, 2_000);
    else await new Promise((resolve) => setTimeout(resolve, 2_000));
  }
  const drifted = seen.has('drift');
  return drifted
    ? `the loop did not finish within ${options.loopTimeoutS} s; the report shows how far it got`
    : `no drift above the threshold within ${options.loopTimeoutS} s`;
}

/** The gateways' sites and about 200 more along the reef: the canary splits by site. */
async function sampleSites(root: string, year: number, gateways: Gateway[]): Promise<string[]> {
  const all = await loadReplayPixels(join(root, 'data/sample'), year);
  const step = Math.max(1, Math.floor(all.length / 200));
  return [
    ...gateways.map((g) => g.pixel.siteId),
    ...all.filter((_, i) => i % step === 0).map((p) => p.siteId),
  ];
}

/** Prediction requests for `durationMs`, a few at a time, spread over the sites. */
async function sendTraffic(apiUrl: string, sites: string[], durationMs: number) {
  const end = Date.now() + durationMs;
  let i = 0;
  while (Date.now() < end) {
    await Promise.all(
      Array.from({ length: 8 }, () =>
        fetch(`${apiUrl}/v1/predict`, {
          method: 'POST',
          headers: { 'content-type': 'application/json' },
          body: JSON.stringify({ site_id: sites[i++ % sites.length] }),
        }).then(
          (r) => r.arrayBuffer(),
          () => undefined,
        ),
      ),
    );
  }
}
