import { createHash } from 'node:crypto';

/**
 * Position of an id (site or edge agent) in the cohort space [0, 1): the first 32 bits of the
 * SHA-256 of its UTF-8 bytes over 2^32. The same id always lands in the same place, so a site
 * keeps its variant while the weight stays put, and raising the weight only adds sites. A
 * cryptographic hash, because ids differ in their last characters only (pixel-1, pixel-2...)
 * and simple hashes such as FNV-1a split such runs far from the configured share.
 */
export function cohortPosition(id: string): number {
  return createHash('sha256').update(id).digest().readUInt32BE(0) / 2 ** 32;
}

/** Sites whose cohort position is below the canary weight get the challenger. */
export function routeVariant(siteId: string, challengerWeight: number): 'champion' | 'challenger' {
  return cohortPosition(siteId) < challengerWeight ? 'challenger' : 'champion';
}
