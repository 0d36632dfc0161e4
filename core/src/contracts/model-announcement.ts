import { z } from 'zod';
import { isoTime, schemaVersion, sha256Hex, traceId } from './common.js';

/**
 * Tells edge agents which model to run. Agents whose id hashes into the first
 * `canary_share` of the cohort space take `alias: challenger`; the rest stay on champion.
 */
export const modelAnnouncementSchema = z.object({
  schema_version: schemaVersion,
  name: z.string().min(1),
  version: z.string().min(1),
  alias: z.enum(['champion', 'challenger']),
  sha256: sha256Hex,
  url: z.url(),
  card_url: z.url().optional(),
  canary_share: z.number().min(0).max(1),
  decision: z.enum(['canary', 'promote', 'rollback']),
  trace_id: traceId,
  announced_at: isoTime,
});

export type ModelAnnouncement = z.infer<typeof modelAnnouncementSchema>;
