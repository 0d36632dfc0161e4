import { DeliverPolicy, jetstream, jetstreamManager } from '@nats-io/jetstream';
import type { NatsConnection } from '@nats-io/transport-node';
import { LOOP_STREAMS } from '@reefguard/core';
import type { AuditLog } from './audit-log.js';

/** One step of a loop, from a stream message or the audit log. */
export interface TraceStep {
  at: string;
  /** NATS subject, or `audit` for an audit-log line. */
  source: string;
  kind:
    | 'drift-event'
    | 'retrain-request'
    | 'retrain-result'
    | 'rollout-decision'
    | 'model-announcement'
    | 'audit';
  /** One line for people. */
  summary: string;
  message: Record<string, unknown>;
}

const KINDS: [RegExp, TraceStep['kind']][] = [
  [/\.drift\./, 'drift-event'],
  [/\.retrain\.requests$/, 'retrain-request'],
  [/\.retrain\.results$/, 'retrain-result'],
  [/\.models\.decisions$/, 'rollout-decision'],
  [/\.models\.announcements$/, 'model-announcement'],
];

const num = (value: unknown, digits = 3) =>
  typeof value === 'number' ? value.toFixed(digits) : String(value);

function summarise(kind: TraceStep['kind'], m: Record<string, unknown>): string {
  switch (kind) {
    case 'drift-event':
      return `drift ${m.feature}: PSI ${num(m.psi)} (threshold ${m.threshold}) on model ${m.model_version}`;
    case 'retrain-request':
      return `retrain requested (${m.reason}: ${(m.features as string[]).join(', ')}) id ${m.id}`;
    case 'retrain-result': {
      if (m.status === 'failed') return `retrain FAILED: ${m.reason}`;
      const metrics = m.metrics as { model: { f1: unknown }; crw_baseline: { f1: unknown } };
      return `retrained: ${m.model_name} version ${m.model_version} (data ${m.data_version}), F1 ${num(metrics.model.f1)} vs CRW ${num(metrics.crw_baseline.f1)}`;
    }
    case 'rollout-decision':
      return `decision ${m.stage}: version ${m.version} - ${m.reason}`;
    case 'model-announcement':
      return `announced ${m.alias} ${m.version} (${m.decision}, cohort share ${m.canary_share})`;
    case 'audit':
      return `audit ${m.action} ${m.target}: ${m.reason}`;
  }
}

/** Every message of one stream whose `trace_id` is `traceId`, oldest first. */
async function readStream(nc: NatsConnection, stream: string, traceId: string) {
  const jsm = await jetstreamManager(nc);
  const info = await jsm.streams.info(stream).catch(() => null);
  if (!info || info.state.messages === 0) return [];
  const last = info.state.last_seq;
  const consumer = await jetstream(nc).consumers.get(stream, {
    deliver_policy: DeliverPolicy.All,
  });
  const steps: TraceStep[] = [];
  const messages = await consumer.consume({ max_messages: 1000 });
  for await (const m of messages) {
    let body: Record<string, unknown> | null = null;
    try {
      body = m.json<Record<string, unknown>>();
    } catch {
      body = null;
    }
    const kind = KINDS.find(([pattern]) => pattern.test(m.subject))?.[1];
    if (body && kind && body.trace_id === traceId) {
      steps.push({
        at: m.time.toISOString(),
        source: m.subject,
        kind,
        summary: summarise(kind, body),
        message: body,
      });
    }
    if (m.seq >= last) break;
  }
  await messages.close();
  return steps;
}

/**
 * The whole chain of one trace id: drift events, the retrain request and result, rollout
 * decisions and model announcements from the loop's JetStream streams, and the audit-log
 * entries, in time order (stream time; the audit log's own time for its lines).
 */
export async function readTrace(
  nc: NatsConnection,
  audit: AuditLog,
  traceId: string,
): Promise<TraceStep[]> {
  const steps: TraceStep[] = [];
  for (const { name } of Object.values(LOOP_STREAMS)) {
    steps.push(...(await readStream(nc, name, traceId)));
  }
  for (const decision of await audit.read()) {
    if (decision.trace_id !== traceId) continue;
    const message = decision as unknown as Record<string, unknown>;
    steps.push({
      at: decision.at,
      source: 'audit',
      kind: 'audit',
      summary: summarise('audit', message),
      message,
    });
  }
  // Stable sort: an audit line and the decision it published keep the audit first.
  return steps.sort((a, b) => Date.parse(a.at) - Date.parse(b.at));
}

/**
 * Folds consecutive drift events of one feature into one line (a drift episode publishes one
 * per check): `drift sst: PSI 0.41 .. 4.20 over 12 checks`.
 */
export function formatTrace(steps: TraceStep[]): string[] {
  const lines: string[] = [];
  let run: { feature: unknown; first: TraceStep; count: number; max: number } | null = null;
  const flush = () => {
    if (!run) return;
    const { first, count, max } = run;
    lines.push(
      count === 1
        ? `${first.at}  ${first.source}  ${first.summary}`
        : `${first.at}  ${first.source}  drift ${run.feature}: ${count} checks above threshold, PSI up to ${num(max)}`,
    );
    run = null;
  };
  for (const step of steps) {
    if (step.kind === 'drift-event') {
      const psi = Number(step.message.psi);
      if (run && run.feature === step.message.feature) {
        run.count += 1;
        run.max = Math.max(run.max, psi);
        continue;
      }
      flush();
      run = { feature: step.message.feature, first: step, count: 1, max: psi };
      continue;
    }
    flush();
    lines.push(`${step.at}  ${step.source}  ${step.summary}`);
  }
  flush();
  return lines;
}
