import type { DemoOptions } from './demo.js';
import type { Gateway, GatewaySite } from './demo-gateways.js';
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
  options: Pick<DemoOptions, 'loopTimeoutS' | 'signal'>,
  progress: Progress,
): Promise<{ summary: string; finished: boolean }> {
  const seen = new Set<string>();
  const say = (key: string, text: string) => {
    if (seen.has(key)) return;
    seen.add(key);
    progress.info(text);
  };
  const live = liveSites(gateways);
  const traffic: Traffic = { requests: 0, byCohort: { champion: 0, challenger: 0 }, status: {} };
  let lastTrafficLine = Date.now();
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
    if (outcome) {
      if (traffic.requests > 0) progress.info(trafficLine(traffic));
      return { summary: outcome, finished: true };
    }
    if (canaryOpen) {
      say(
        'traffic',
        `canary traffic: single-site predictions alternating between the ${live.challenger.length} live sites of the challenger cohort and the ${live.champion.length} of the champion's, until the window closes`,
      );
      await sendTraffic(apiUrl, live, 2_000, traffic);
      if (Date.now() - lastTrafficLine > 10_000) {
        lastTrafficLine = Date.now();
        progress.info(trafficLine(traffic));
      }
    } else await new Promise((resolve) => setTimeout(resolve, 2_000));
  }
  const drifted = seen.has('drift');
  return {
    summary: drifted
      ? `the loop did not finish within ${options.loopTimeoutS} s; the report shows how far it got`
      : `no drift above the threshold within ${options.loopTimeoutS} s`,
    finished: false,
  };
}

/** The sites the gateways stream live, by serving's cohort: only they have daily features. */
function liveSites(gateways: Gateway[]): Record<GatewaySite['cohort'], string[]> {
  const sites = gateways.flatMap((g) => g.sites);
  return {
    champion: sites.filter((s) => s.cohort === 'champion').map((s) => s.pixel.siteId),
    challenger: sites.filter((s) => s.cohort === 'challenger').map((s) => s.pixel.siteId),
  };
}

interface Traffic {
  requests: number;
  byCohort: Record<GatewaySite['cohort'], number>;
  status: Record<string, number>;
}

function trafficLine(t: Traffic): string {
  const statuses = Object.entries(t.status)
    .map(([code, n]) => `${code} x${n}`)
    .join(', ');
  return `canary traffic so far: ${t.requests} requests (challenger-cohort sites ${t.byCohort.challenger}, champion-cohort ${t.byCohort.champion}; HTTP ${statuses})`;
}

/**
 * Prediction requests for `durationMs`, 8 at a time, alternating between the two cohorts'
 * live sites so both sides of the canary get about the same evidence.
 */
async function sendTraffic(
  apiUrl: string,
  live: Record<GatewaySite['cohort'], string[]>,
  durationMs: number,
  traffic: Traffic,
) {
  const end = Date.now() + durationMs;
  const cohorts = (['challenger', 'champion'] as const).filter((c) => live[c].length > 0);
  if (cohorts.length === 0) return;
  while (Date.now() < end) {
    await Promise.all(
      Array.from({ length: 8 }, () => {
        const n = traffic.requests++;
        const cohort = cohorts[n % cohorts.length] as GatewaySite['cohort'];
        const sites = live[cohort];
        const site = sites[Math.floor(n / cohorts.length) % sites.length] as string;
        traffic.byCohort[cohort] += 1;
        return fetch(`${apiUrl}/v1/predict`, {
          method: 'POST',
          headers: { 'content-type': 'application/json' },
          body: JSON.stringify({ site_id: site }),
        }).then(
          async (r) => {
            await r.arrayBuffer();
            traffic.status[r.status] = (traffic.status[r.status] ?? 0) + 1;
          },
          () => {
            traffic.status.failed = (traffic.status.failed ?? 0) + 1;
          },
        );
      }),
    );
  }
}
