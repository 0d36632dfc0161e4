import { readFile } from 'node:fs/promises';
import { fileURLToPath } from 'node:url';
import { NotFoundError } from '@reefguard/core';

/** One reef site (a GBR reef pixel): where it is and what it is called. */
export interface Site {
  readonly site_id: string;
  readonly lat: number;
  readonly lon: number;
  readonly name: string;
}

export interface SiteCatalog {
  readonly sites: readonly Site[];
  /** The site, or a NotFoundError naming it. */
  get(siteId: string): Site;
  has(siteId: string): boolean;
}

/** The shipped catalogue: every pixel of data/sample/gbr_environmental.parquet. */
export const DEFAULT_SITES_FILE = fileURLToPath(
  new URL('../assets/gbr-sites.json', import.meta.url),
);

export function createSiteCatalog(sites: readonly Site[]): SiteCatalog {
  const byId = new Map(sites.map((site) => [site.site_id, site]));
  return {
    sites,
    has: (siteId) => byId.has(siteId),
    get(siteId) {
      const site = byId.get(siteId);
      if (!site) throw new NotFoundError(`unknown site "${siteId}": not in the site catalogue`);
      return site;
    },
  };
}

interface SitesFile {
  columns: string[];
  sites: Array<[string, number, number, string | null]>;
}

/** Reads a catalogue file: `{columns: [site_id, lat, lon, name], sites: [[...], ...]}`. */
export async function loadSiteCatalog(path = DEFAULT_SITES_FILE): Promise<SiteCatalog> {
  const file = JSON.parse(await readFile(path, 'utf8')) as SitesFile;
  return createSiteCatalog(
    file.sites.map(([site_id, lat, lon, name]) => ({ site_id, lat, lon, name: name ?? site_id })),
  );
}
