/**
 * Position of an id (site or edge agent) in the cohort space [0, 1): FNV-1a 32-bit of its
 * UTF-8 bytes over 2^32. The same id always lands in the same place, so a site keeps its
 * variant for as long as the weight stays put, and raising the weight only adds sites.
 */
export function cohortPosition(id: string): number {
  let hash = 0x811c9dc5;
  for (const byte of new TextEncoder().encode(id)) {
    hash ^= byte;
    hash = Math.imul(hash, 0x01000193) >>> 0;
  }
  return hash / 2 ** 32;
}

/** Sites whose cohort position is below the canary weight get the challenger. */
export function routeVariant(siteId: string, challengerWeight: number): 'champion' | 'challenger' {
  return cohortPosition(siteId) < challengerWeight ? 'challenger' : 'champion';
}
