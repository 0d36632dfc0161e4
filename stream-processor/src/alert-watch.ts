import { ALERT_LEVELS, type FeatureVector } from '@reefguard/core';
import type { Notifier } from './slack.js';

/**
 * Sends one Slack message when a site's CRW alert level rises above the level last seen for
 * it; keyed by site, day and level so a replay or a second instance does not repeat it.
 */
export interface AlertWatch {
  observe(vector: FeatureVector): Promise<void>;
}

export function createAlertWatch(notifier: Notifier): AlertWatch {
  const lastLevel = new Map<string, number>();
  return {
    async observe(vector) {
      const level = vector.values.alert_level;
      if (level === null || level === undefined) return;
      const previous = lastLevel.get(vector.site_id) ?? 0;
      lastLevel.set(vector.site_id, level);
      if (level <= previous) return;
      const day = vector.as_of.slice(0, 10);
      await notifier.notify(
        `alert:${vector.site_id}:${day}:${level}`,
        `:rotating_light: ${vector.site_id}: CRW ${ALERT_LEVELS[level] ?? `level ${level}`} on ${day} (was ${ALERT_LEVELS[previous] ?? previous}); DHW ${vector.values.dhw ?? 'n/a'} degC-weeks`,
      );
    },
  };
}
