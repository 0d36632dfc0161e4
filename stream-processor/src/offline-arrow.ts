import {
  type DuckDBAppender,
  DuckDBDataChunk,
  DuckDBDateValue,
  DuckDBTimestampValue,
  type DuckDBValue,
  type DuckDBVector,
} from '@duckdb/node-api';
import {
  type DataType,
  DateDay,
  Dictionary,
  type Field,
  Float64,
  Int32,
  makeData,
  makeVector,
  RecordBatch,
  Schema,
  Field as SchemaField,
  Struct,
  TimestampMillisecond,
  Type,
  Utf8,
  type Vector,
  vectorFromArray,
} from 'apache-arrow';
import type { FeatureRow, StoredReading, StreamFeature } from './offline-store.js';

/**
 * A batch's offline rows as Apache Arrow record batches (columnar: typed arrays for numbers
 * and times, UTF-8 buffers for text), appended to DuckDB column by column.
 *
 * What is Arrow and what is DuckDB: the record batch is apache-arrow's (the same object
 * `tableToIPC` writes as Arrow IPC for inspection or export). @duckdb/node-api 1.5 cannot take
 * Arrow itself (no Arrow import, and the nanoarrow extension is not installable here), so each
 * record batch is copied into DuckDB's own columnar unit, a `DuckDBDataChunk` of up to 2,048
 * rows, one whole column vector at a time, and handed to the appender with
 * `appendDataChunk`: no per-value appender call. Numeric and time columns go in as one buffer
 * copy per vector; text needs one call per string (DuckDB owns its string heap).
 */

/** Rows per DuckDB data chunk (DuckDB's standard vector size). */
export const DUCKDB_VECTOR_SIZE = 2048;

/** Column order of the `readings` table. */
const READING_FIELDS = [
  field('id', new Utf8()),
  field('site_id', labels()),
  field('station_id', labels()),
  field('parameter', labels()),
  field('value', new Float64()),
  field('unit', labels()),
  field('source', labels()),
  field('observed_at', new TimestampMillisecond()),
  field('ingested_at', new TimestampMillisecond()),
];

function field(name: string, type: DataType): Field {
  return new SchemaField(name, type, true);
}

/** Low-cardinality text (site, station, parameter ...): dictionary-encoded UTF-8. */
function labels(): Dictionary<Utf8, Int32> {
  return new Dictionary(new Utf8(), new Int32());
}

const encoder = new TextEncoder();
const decoder = new TextDecoder();

/** A UTF-8 column: one byte buffer and int32 offsets. */
function utf8Vector<T>(rows: readonly T[], pick: (row: T) => string): Vector<Utf8> {
  const offsets = new Int32Array(rows.length + 1);
  let bytes = new Uint8Array(rows.length * 64);
  let at = 0;
  rows.forEach((row, i) => {
    const text = pick(row);
    // UTF-8 needs at most 3 bytes per UTF-16 unit.
    if (at + text.length * 3 > bytes.length) {
      const grown = new Uint8Array(Math.max(bytes.length * 2, at + text.length * 3));
      grown.set(bytes.subarray(0, at));
      bytes = grown;
    }
    at += encoder.encodeInto(text, bytes.subarray(at)).written;
    offsets[i + 1] = at;
  });
  return makeVector(
    makeData({
      type: new Utf8(),
      length: rows.length,
      nullCount: 0,
      valueOffsets: offsets,
      data: bytes.subarray(0, at),
    }),
  );
}

/** A dictionary-encoded UTF-8 column: the distinct values once, an int32 index per row. */
function dictionaryVector<T>(
  rows: readonly T[],
  pick: (row: T) => string,
): Vector<Dictionary<Utf8, Int32>> {
  const index = new Map<string, number>();
  const distinct: string[] = [];
  const indices = Int32Array.from(rows, (row) => {
    const text = pick(row);
    let k = index.get(text);
    if (k === undefined) {
      k = distinct.length;
      index.set(text, k);
      distinct.push(text);
    }
    return k;
  });
  return makeVector(
    makeData({
      type: labels(),
      length: rows.length,
      nullCount: 0,
      data: indices,
      dictionary: utf8Vector(distinct, (t) => t),
    }),
  );
}

/** Readings (the `readings` table's columns) as one record batch. */
export function readingsRecordBatch(rows: readonly StoredReading[]): RecordBatch {
  const n = rows.length;
  const value = new Float64Array(n);
  const observed = new BigInt64Array(n);
  const ingested = new BigInt64Array(n);
  rows.forEach((row, i) => {
    value[i] = row.reading.value;
    observed[i] = BigInt(row.observedMs);
    ingested[i] = BigInt(row.ingestedMs);
  });
  const label = (pick: (row: StoredReading) => string) => dictionaryVector(rows, pick);
  return recordBatch(READING_FIELDS, [
    utf8Vector(rows, (r) => r.reading.id),
    label((r) => r.reading.site_id),
    label((r) => r.reading.station_id),
    label((r) => r.reading.parameter),
    makeVector(value),
    label((r) => r.reading.unit),
    label((r) => r.reading.source),
    timestamps(observed),
    timestamps(ingested),
  ]);
}

/** Daily feature rows (the `daily_features` table's columns) as one record batch. */
export function featuresRecordBatch(
  rows: readonly FeatureRow[],
  features: readonly StreamFeature[],
): RecordBatch {
  const n = rows.length;
  const days = Int32Array.from(rows, (r) => r.day);
  const ingested = BigInt64Array.from(rows, (r) => BigInt(r.ingestedMs));
  const columns: Vector[] = [
    dictionaryVector(rows, (r) => r.siteId),
    makeVector(makeData({ type: new DateDay(), length: n, nullCount: 0, data: days })),
    timestamps(ingested),
  ];
  for (const f of features) {
    columns.push(
      vectorFromArray(
        rows.map((r) => r.values[f] ?? null),
        new Float64(),
      ),
    );
  }
  return recordBatch(
    [
      field('site_id', labels()),
      field('as_of_day', new DateDay()),
      field('ingested_at', new TimestampMillisecond()),
      ...features.map((f) => field(f, new Float64())),
    ],
    columns,
  );
}

function timestamps(ms: BigInt64Array): Vector<TimestampMillisecond> {
  return makeVector(
    makeData({ type: new TimestampMillisecond(), length: ms.length, nullCount: 0, data: ms }),
  );
}

function recordBatch(fields: Field[], columns: Vector[]): RecordBatch {
  const schema = new Schema(fields);
  const length = columns[0]?.length ?? 0;
  const data = makeData({
    type: new Struct(fields),
    length,
    nullCount: 0,
    children: columns.map((c) => c.data[0] as NonNullable<(typeof c.data)[0]>),
  });
  return new RecordBatch(schema, data);
}

/**
 * Appends a record batch whose columns match the appender's table in order and kind (text,
 * DOUBLE, TIMESTAMP, DATE) as DuckDB data chunks; returns the rows appended. The caller
 * closes (or flushes) the appender.
 */
export function appendRecordBatch(appender: DuckDBAppender, batch: RecordBatch): number {
  const width = batch.numCols;
  if (width !== appender.columnCount) {
    throw new RangeError(
      `record batch has ${width} columns, the table ${appender.columnCount}: schemas differ`,
    );
  }
  const types = Array.from({ length: width }, (_, c) => appender.columnType(c));
  for (let offset = 0; offset < batch.numRows; offset += DUCKDB_VECTOR_SIZE) {
    const rows = Math.min(DUCKDB_VECTOR_SIZE, batch.numRows - offset);
    const chunk = DuckDBDataChunk.create(types, rows);
    for (let c = 0; c < width; c++) {
      const column = batch.getChildAt(c) as Vector;
      copyColumn(column, offset, rows, chunk.getColumnVector(c));
    }
    appender.appendDataChunk(chunk);
  }
  return batch.numRows;
}

/** Copies rows [offset, offset + rows) of an Arrow column into a DuckDB vector and flushes it. */
function copyColumn(column: Vector, offset: number, rows: number, target: DuckDBVector): void {
  const data = column.data[0];
  if (!data || column.data.length !== 1) {
    throw new RangeError('appendRecordBatch expects one data chunk per column');
  }
  const valid = (i: number) => data.nullCount === 0 || column.isValid(i);
  const vector = target as DuckDBVector<DuckDBValue>;
  switch (column.type.typeId) {
    case Type.Float: {
      const values = data.values as Float64Array;
      for (let i = 0; i < rows; i++) {
        vector.setItem(i, valid(offset + i) ? (values[offset + i] as number) : null);
      }
      break;
    }
    case Type.Timestamp: {
      const values = data.values as BigInt64Array;
      for (let i = 0; i < rows; i++) {
        vector.setItem(
          i,
          valid(offset + i)
            ? new DuckDBTimestampValue((values[offset + i] as bigint) * 1000n)
            : null,
        );
      }
      break;
    }
    case Type.Date: {
      const values = data.values as Int32Array;
      for (let i = 0; i < rows; i++) {
        vector.setItem(
          i,
          valid(offset + i) ? new DuckDBDateValue(values[offset + i] as number) : null,
        );
      }
      break;
    }
    case Type.Utf8: {
      const bytes = data.values as Uint8Array;
      const ends = data.valueOffsets as Int32Array;
      for (let i = offset; i < offset + rows; i++) {
        const text = valid(i) ? decoder.decode(bytes.subarray(ends[i], ends[i + 1])) : null;
        vector.setItem(i - offset, text);
      }
      break;
    }
    case Type.Dictionary: {
      // Decode the distinct values once; each row is an index into them.
      const dictionary = data.dictionary as Vector<Utf8>;
      const distinct = Array.from({ length: dictionary.length }, (_, k) => dictionary.get(k));
      const indices = data.values as Int32Array;
      for (let i = offset; i < offset + rows; i++) {
        vector.setItem(i - offset, valid(i) ? (distinct[indices[i] as number] ?? null) : null);
      }
      break;
    }
    default:
      throw new RangeError(`appendRecordBatch: no DuckDB copy for Arrow type ${column.type}`);
  }
  vector.flush();
}
