import { type Prediction, predictionSchema, RISK_BANDS, SCHEMA_VERSION } from '@reefguard/core';
import type { Logger } from 'pino';
import type { AgentMetrics } from './metrics.js';
import type { OutboxMessage } from './outbox.js';

export interface AlerterOptions {
  siteId: string;
  stationId: string;
  /** Risk at or above which to warn; the model card's threshold when unset. */
  riskThreshold?: number;
  /** CRW alert level at or above which to warn (3 = Alert Level 1, DHW >= 4). */
  alertLevelThreshold: number;
  /** A local HTTP endpoint (siren, SMS gateway) that gets the alert as JSON. */
  webhookUrl?: string;
  logger: Logger;
  metrics?: AgentMetrics;
  /** Queues the alert for the MQTT alert topic; it goes out when the link is up. */
  enqueue: (message: OutboxMessage) => Promise<unknown>;
  fetch?: typeof fetch;
}

export interface Assessment {
  time: string;
  risk: number | null;
  alertLevel: number | null;
  dhw: number | null;
  modelName: string;
  modelVersion: string;
  modelThreshold: number;
  variant: 'champion' | 'challenger';
}

export interface Alerter {
  /** Raises an alert when risk or alert level crosses its threshold upward; else nothing. */
  assess(assessment: Assessment): Promise<Prediction | null>;
}

/**
 * Local warning that works with the link down: a log line and the local webhook at once,
 * the MQTT alert through the outbox. One alert per upward crossing, not one per reading.
 */
export function createAlerter(options: AlerterOptions): Alerter {
  const doFetch = options.fetch ?? fetch;
  let raised = false;
  return {
    async assess(a) {
      const riskThreshold = options.riskThreshold ?? a.modelThreshold;
      const over =
        (a.risk !== null && a.risk >= riskThreshold) ||
        (a.alertLevel !== null && a.alertLevel >= options.alertLevelThreshold);
      if (!over) {
        raised = false;
        return null;
      }
      if (raised) return null;
      raised = true;
      const risk = a.risk ?? 0;
      const alert = predictionSchema.parse({
        schema_version: SCHEMA_VERSION,
        site_id: options.siteId,
        time: a.time,
        risk,
        band: RISK_BANDS[Math.min(3, Math.floor(risk * 4))],
        alert_level: a.alertLevel ?? 0,
        dhw: a.dhw ?? 0,
        model_name: a.modelName,
        model_version: a.modelVersion,
        variant: a.variant,
        degraded: a.risk === null,
        top_features: [],
      });
      options.logger.warn({ alert }, 'bleaching alert raised locally');
      options.metrics?.alerts.inc({ channel: 'log' });
      const body = JSON.stringify(alert);
      await options.enqueue({
        id: `alert/${options.siteId}/${Date.parse(a.time)}`,
        kind: 'alert',
        siteId: options.siteId,
        stationId: options.stationId,
        body,
      });
      options.metrics?.alerts.inc({ channel: 'mqtt-queued' });
      if (options.webhookUrl) {
        try {
          const response = await doFetch(options.webhookUrl, {
            method: 'POST',
            headers: { 'content-type': 'application/json' },
            body,
            signal: AbortSignal.timeout(5_000),
          });
          if (!response.ok) throw new Error(`webhook answered ${response.status}`);
          options.metrics?.alerts.inc({ channel: 'webhook' });
        } catch (err) {
          options.logger.error({ err, url: options.webhookUrl }, 'local alert webhook failed');
        }
      }
      return alert;
    },
  };
}
