/** What the processor knows of a site: position and the climatology heat stress needs. */
export interface SiteProfile {
  readonly siteId: string;
  readonly lat: number;
  readonly lon: number;
  /** CRW maximum of monthly mean climatology (degC). */
  readonly mmmC: number;
  /** Monthly mean climatology, January first (degC), for the daily climatology. */
  readonly monthlyMeanC: readonly number[];
}

export interface SiteRegistry {
  get(siteId: string): SiteProfile | undefined;
  readonly size: number;
}

export function createSiteRegistry(sites: Iterable<SiteProfile>): SiteRegistry {
  const byId = new Map<string, SiteProfile>();
  for (const site of sites) {
    if (site.monthlyMeanC.length !== 12) {
      throw new RangeError(`site ${site.siteId}: monthlyMeanC needs 12 values`);
    }
    byId.set(site.siteId, site);
  }
  return { get: (siteId) => byId.get(siteId), size: byId.size };
}
