import { ValidationError } from '@reefguard/core';
import { z } from 'zod';
import type { Fetcher } from './fetcher.js';

/**
 * STAC API item search (POST /search, OGC API - Features paging by `next` links), and the few
 * fields of a Sentinel-2 L2A item the ingestion needs. Asset hrefs may be relative: they are
 * resolved against the item's `self` link, else against the page the item came in.
 */

export const DEFAULT_STAC_COLLECTION = 'sentinel-2-l2a';
export const DEFAULT_STAC_PAGE_LIMIT = 100;

const linkSchema = z.object({
  rel: z.string(),
  href: z.string(),
  method: z.string().optional(),
  body: z.record(z.string(), z.unknown()).optional(),
  merge: z.boolean().optional(),
});

const assetSchema = z.object({
  href: z.string().min(1),
  type: z.string().optional(),
  gsd: z.number().optional(),
  'eo:bands': z.array(z.object({ name: z.string() })).optional(),
  'proj:transform': z.array(z.number()).optional(),
});

export const stacItemSchema = z.object({
  type: z.literal('Feature'),
  id: z.string().min(1),
  bbox: z.array(z.number()).min(4),
  properties: z
    .object({
      datetime: z.string(),
      's2:processing_baseline': z.string().optional(),
      'proj:code': z.string().optional(),
      'proj:epsg': z.number().optional(),
    })
    .passthrough(),
  assets: z.record(z.string(), assetSchema),
  links: z.array(linkSchema).optional(),
});

export type StacItem = z.infer<typeof stacItemSchema> & {
  /** Where the item was read from: relative asset hrefs resolve against it. */
  baseHref: string;
};

const pageSchema = z.object({
  type: z.literal('FeatureCollection'),
  features: z.array(z.unknown()),
  links: z.array(linkSchema).optional(),
});

/** Parses one STAC item; `baseHref` is the URL it came from. Throws naming the bad field. */
export function parseStacItem(json: unknown, baseHref: string): StacItem {
  const parsed = stacItemSchema.safeParse(json);
  if (!parsed.success) {
    const id = (json as { id?: unknown } | null)?.id;
    throw new ValidationError(
      `STAC item ${typeof id === 'string' ? id : '(no id)'} from ${baseHref} is not a Sentinel-2 item: ${parsed.error.issues
        .map((i) => `${i.path.join('.')}: ${i.message}`)
        .join('; ')}`,
      'stac_item',
    );
  }
  const self = parsed.data.links?.find((l) => l.rel === 'self')?.href;
  return { ...parsed.data, baseHref: self ? new URL(self, baseHref).toString() : baseHref };
}

/** The absolute URL of an item's asset. */
export function assetUrl(item: StacItem, key: string): string {
  const asset = item.assets[key];
  if (!asset) throw new ValidationError(`STAC item ${item.id} has no asset "${key}"`, 'stac_item');
  return new URL(asset.href, item.baseHref).toString();
}

/** The EPSG code of an item's grid (projection extension v1 `proj:epsg` or v2 `proj:code`). */
export function itemEpsg(item: StacItem): string {
  const { 'proj:code': code, 'proj:epsg': epsg } = item.properties;
  if (code) return code;
  if (epsg !== undefined) return `EPSG:${epsg}`;
  throw new ValidationError(`STAC item ${item.id} has no proj:code / proj:epsg`, 'stac_item');
}

export interface StacSearch {
  collection?: string;
  /** [west, south, east, north] in degrees. */
  bbox: readonly [number, number, number, number];
  /** RFC 3339 interval, e.g. 2024-01-01T00:00:00Z/2024-01-31T23:59:59Z. */
  datetime: string;
  limit?: number;
  /** Extra filter, e.g. `{ 'eo:cloud_cover': { lt: 80 } }` for APIs with the query extension. */
  query?: Record<string, unknown>;
}

/** Every item of a STAC API search, page after page (`next` links, GET or POST). */
export async function* searchStac(
  fetcher: Fetcher,
  search: StacSearch,
  signal?: AbortSignal,
): AsyncGenerator<StacItem> {
  let path = 'search';
  let body: Record<string, unknown> | undefined = {
    collections: [search.collection ?? DEFAULT_STAC_COLLECTION],
    bbox: search.bbox,
    datetime: search.datetime,
    limit: search.limit ?? DEFAULT_STAC_PAGE_LIMIT,
    ...(search.query ? { query: search.query } : {}),
  };
  const visited = new Set<string>();
  while (true) {
    signal?.throwIfAborted();
    const pageUrl = fetcher.url(path);
    const json = await fetcher.json(path, body);
    const page = pageSchema.safeParse(json);
    if (!page.success) {
      throw new ValidationError(
        `${pageUrl} did not answer a STAC ItemCollection: ${page.error.issues[0]?.message}`,
        'stac_search',
      );
    }
    for (const feature of page.data.features) yield parseStacItem(feature, pageUrl);
    const next = page.data.links?.find((l) => l.rel === 'next');
    if (!next || page.data.features.length === 0) return;
    const key = `${next.href} ${JSON.stringify(next.body ?? null)}`;
    if (visited.has(key)) return;
    visited.add(key);
    path = new URL(next.href, pageUrl).toString();
    body =
      (next.method ?? 'GET').toUpperCase() === 'POST'
        ? next.merge
          ? { ...body, ...next.body }
          : (next.body ?? body)
        : undefined;
  }
}
