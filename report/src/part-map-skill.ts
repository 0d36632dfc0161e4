import { join } from 'node:path';
import { DuckDBInstance } from '@duckdb/node-api';
import type { ModelStore } from './model-store.js';
import type { EventSkill, RiskMapPart, SkillPart } from './report-data.js';
import { missing, present, readJsonFile, type Section } from './sections.js';
import type { MapSite } from './svg-charts.js';

/** Reef pixels binned to this many degrees for the map's background. */
const REEF_CELL_DEG = 0.1;

export async function riskMapPart(stateDir: string, root: string): Promise<Section<RiskMapPart>> {
  const path = join(stateDir, 'risk-map.geojson');
  const geojson = (await readJsonFile(path)) as
    | {
        date?: string;
        features?: {
          geometry?: { coordinates?: number[] };
          properties?: Record<string, unknown>;
        }[];
      }
    | undefined;
  if (geojson === undefined) {
    return missing(`no risk map at ${path}: serving was not asked for /v1/risk-map`);
  }
  if (!Array.isArray(geojson.features))
    return missing(`${path} is not a GeoJSON FeatureCollection`);
  const sites: MapSite[] = geojson.features.map((f, i) => {
    const [lon, lat] = f.geometry?.coordinates ?? [];
    const p = f.properties ?? {};
    if (typeof lon !== 'number' || typeof lat !== 'number') {
      throw new Error(`${path}: feature ${i} has no point coordinates`);
    }
    return {
      lon,
      lat,
      label: String(p.site_id ?? `site ${i + 1}`),
      band: typeof p.band === 'string' ? p.band : null,
      risk: typeof p.risk === 'number' ? p.risk : null,
      answeredBy: [
        p.variant,
        // A numbered model version reads "v2"; the CRW fallback names itself.
        typeof p.model_version === 'string' && p.model_version !== p.variant
          ? /^\d+$/.test(p.model_version)
            ? `v${p.model_version}`
            : p.model_version
          : null,
        p.degraded === true ? 'degraded' : null,
      ]
        .filter((x): x is string => typeof x === 'string' && x !== '')
        .join(' '),
      time: typeof p.time === 'string' ? p.time : null,
    };
  });
  if (sites.length === 0) {
    return missing(`${path} has no site with an answer: no features reached the online store`);
  }
  return present({
    date: geojson.date ?? null,
    sites,
    reefCells: await reefCells(root).catch(() => []),
    cellDeg: REEF_CELL_DEG,
  });
}

async function reefCells(root: string): Promise<{ lon: number; lat: number }[]> {
  const instance = await DuckDBInstance.create(':memory:');
  const conn = await instance.connect();
  try {
    const file = join(root, 'data/sample/gbr_environmental.parquet').replaceAll("'", "''");
    const reader = await conn.runAndReadAll(
      `SELECT DISTINCT round(lon / ${REEF_CELL_DEG}) * ${REEF_CELL_DEG} AS lon,
         round(lat / ${REEF_CELL_DEG}) * ${REEF_CELL_DEG} AS lat
       FROM read_parquet('${file}') WHERE lat IS NOT NULL AND lon IS NOT NULL`,
    );
    return reader.getRowObjectsJson().map((r) => ({ lon: Number(r.lon), lat: Number(r.lat) }));
  } finally {
    conn.closeSync();
    instance.closeSync();
  }
}

export function skillPart(store: Section<ModelStore>): Section<SkillPart> {
  if (!store.ok) return missing(store.reason);
  if (store.value.models.length === 0) return missing('no model card in the model store (models/)');
  return present({
    versions: store.value.models.map(({ name, version, card }) => {
      const aliases = Object.entries(store.value.aliases[name] ?? {})
        .filter(([, v]) => v === version)
        .map(([alias]) => alias);
      const events: EventSkill[] = card.metrics.held_out_events.map((e) => ({
        event: e.event,
        n: e.model.n,
        positives: e.model.positives,
        model: { f1: e.model.f1, auroc: e.model.auroc, brier: e.model.brier },
        crw: { f1: e.crw_baseline.f1, auroc: e.crw_baseline.auroc, brier: e.crw_baseline.brier },
      }));
      const { model, crw_baseline: crw } = card.metrics.overall;
      const compared = events.filter((e) => e.model.f1 !== null && e.crw.f1 !== null);
      return {
        name,
        version,
        aliases,
        events,
        overall: {
          event: 'all held-out rows',
          n: model.n,
          positives: model.positives,
          model: { f1: model.f1, auroc: model.auroc, brier: model.brier },
          crw: { f1: crw.f1, auroc: crw.auroc, brier: crw.brier },
        },
        wins: compared.filter((e) => (e.model.f1 as number) > (e.crw.f1 as number)).length,
        compared: compared.length,
      };
    }),
  });
}
