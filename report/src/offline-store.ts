import { join } from 'node:path';
import { DuckDBInstance } from '@duckdb/node-api';
import { InputFormatError } from '@reefguard/core';
import { listDir } from './sections.js';

/** What the stream processors stored, over every `stream-<instance>.duckdb` of a state dir. */
export interface OfflineSummary {
  files: string[];
  /** Raw readings per station, distinct ids (a duplicate row would show as rows > ids). */
  stations: {
    stationId: string;
    siteId: string;
    rows: number;
    ids: number;
    first: string;
    last: string;
  }[];
  late: number;
  quarantine: { source: string; reason: string; count: number }[];
  /** Latest daily features per site and day, for the drift chart when no events were kept. */
  dailyFeatures: { siteId: string; day: string; values: Record<string, number | null> }[];
}

const DB_FILE = /^stream-.+\.duckdb$/;

export async function readOfflineStore(
  stateDir: string,
  featureNames: readonly string[],
): Promise<OfflineSummary | null> {
  const files = (await listDir(stateDir)).filter((name) => DB_FILE.test(name));
  if (files.length === 0) return null;
  const instance = await DuckDBInstance.create(':memory:');
  const conn = await instance.connect();
  const rows = async (sql: string) =>
    (await conn.runAndReadAll(sql)).getRowObjectsJson() as Record<string, unknown>[];
  try {
    for (const [i, name] of files.entries()) {
      const path = join(stateDir, name).replaceAll("'", "''");
      try {
        await conn.run(`ATTACH '${path}' AS s${i} (READ_ONLY)`);
      } catch (cause) {
        throw new InputFormatError(
          `cannot open ${name} read-only; is a stream processor still running on it?`,
          { cause },
        );
      }
    }
    const all = (table: string, columns = '*') =>
      files.map((_, i) => `SELECT ${columns} FROM s${i}.${table}`).join(' UNION ALL ');
    const stations = await rows(
      `SELECT station_id, any_value(site_id) AS site_id, count(*) AS n, count(DISTINCT id) AS ids,
         strftime(min(observed_at), '%Y-%m-%d') AS first, strftime(max(observed_at), '%Y-%m-%d') AS last
       FROM (${all('readings')}) GROUP BY station_id ORDER BY station_id`,
    );
    const late = await rows(`SELECT count(*) AS n FROM (${all('late_readings', 'id')})`);
    const quarantine = await rows(
      `SELECT source, reason, count(*) AS n FROM (${all('quarantine')})
       GROUP BY source, reason ORDER BY n DESC`,
    );
    const columns = await rows(
      `SELECT DISTINCT column_name FROM duckdb_columns() WHERE table_name = 'daily_features'`,
    );
    const stored = new Set(columns.map((c) => String(c.column_name)));
    const wanted = featureNames.filter((f) => stored.has(f));
    const daily =
      wanted.length === 0
        ? []
        : await rows(
            `SELECT site_id, strftime(as_of_day, '%Y-%m-%d') AS day, ${wanted.join(', ')}
             FROM (${all('daily_features')})
             QUALIFY row_number() OVER (PARTITION BY site_id, as_of_day ORDER BY ingested_at DESC) = 1
             ORDER BY as_of_day, site_id`,
          );
    return {
      files,
      stations: stations.map((r) => ({
        stationId: String(r.station_id),
        siteId: String(r.site_id),
        rows: Number(r.n),
        ids: Number(r.ids),
        first: String(r.first),
        last: String(r.last),
      })),
      late: Number(late[0]?.n ?? 0),
      quarantine: quarantine.map((r) => ({
        source: String(r.source),
        reason: String(r.reason),
        count: Number(r.n),
      })),
      dailyFeatures: daily.map((r) => ({
        siteId: String(r.site_id),
        day: String(r.day),
        values: Object.fromEntries(
          wanted.map((f) => [f, r[f] === null || r[f] === undefined ? null : Number(r[f])]),
        ),
      })),
    };
  } finally {
    conn.closeSync();
    instance.closeSync();
  }
}
