/**
 * How the store process (store-process.ts) inserts a batch of encoded rows: the bytes are written
 * to a file in the store's folder and the engine reads them with `INSERT ... SELECT * FROM file()`.
 *
 * Why not chDB's raw insert, which hands the bytes to the engine as inline data: measured on the
 * same 20,000 request rows, the engine spent ~20-25 µs of CPU per row on an inline insert and
 * ~10 µs reading the same JSONCompactEachRow from a file (the parser is the same; the inline path
 * carries the batch through the query text). On a machine whose cores the gateway shares, the
 * store's CPU is what recording costs the proxy, so this halves it. Writing the file costs well
 * under 1 µs per row (it stays in the page cache: it is removed as soon as the insert ends).
 *
 * Rows with a column list (the request rows, RowBinary or JSONCompactEachRow) are read with an explicit
 * structure, the inserted columns' own types except that a `LowCardinality(T)` column is read as
 * `T` and converted as the block is inserted: parsing a value straight into a LowCardinality
 * column costs about three times a plain one (~430 against ~140 ns per value measured in chDB),
 * and the request table has 14 such columns, ~4 µs of the engine's CPU per row. The values stored
 * are the same. Other inserts, and any whose columns the store does not know (a table or column
 * the migrations have not made yet), read the file with the structure of the columns they insert
 * into (`use_structure_from_insertion_table_in_table_functions`, on by default), so the engine
 * reports a missing table or column, or bad data, with the same error codes as an inline insert:
 * writer.ts tells bad data from an outage, and a schema behind, by those codes.
 */
import { join } from 'node:path';
import type { StoreBatchHead } from './store-protocol.ts';

/** The folder, inside the store's own, where batches wait as files while they are inserted. */
export const INSERT_FOLDER = 'watchllm-inserts';

const NAME = /^[A-Za-z_][A-Za-z0-9_]*$/;

/** A table (`db.table` or `table`) or column name, quoted; anything else is refused, never escaped. */
function identifier(name: string): string {
  const parts = name.split('.');
  if (parts.length > 2 || !parts.every((p) => NAME.test(p))) throw new Error(`not a table or column name: ${JSON.stringify(name)}`);
  return parts.map((p) => `\`${p}\``).join('.');
}

/** A ClickHouse string literal. */
function literal(s: string): string {
  return `'${s.replaceAll('\\', '\\\\').replaceAll("'", "\\'")}'`;
}

/** The formats batches come in, with the extension their files get. */
const FORMATS = new Map<string, string>([
  ['JSONEachRow', 'ndjson'],
  ['JSONCompactEachRow', 'jsonl'],
  ['RowBinary', 'bin'],
]);

/** Where batch `id` waits: one file per insert, named by the call (calls run concurrently). */
export function batchFile(folder: string, id: number, format: string): string {
  if (!Number.isSafeInteger(id) || id < 0) throw new Error(`bad insert id ${id}`);
  const ext = FORMATS.get(format);
  if (ext === undefined) throw new Error(`unsupported insert format ${JSON.stringify(format)}`);
  return join(folder, `${id}.${ext}`);
}

/** A column's type as the file is read: `LowCardinality(T)` as `T` (the insert converts it back). */
export function readType(type: string): string {
  const m = /^LowCardinality\((.*)\)$/.exec(type);
  return m ? m[1]! : type;
}

/**
 * The structure to read `columns` with, from the table's column types; null when one of them is
 * not among `types` (the engine is then left to find the structure, and to report what is missing).
 */
export function readStructure(columns: readonly string[], types: ReadonlyMap<string, string>): string | null {
  const out: string[] = [];
  for (const c of columns) {
    const type = types.get(c);
    if (type === undefined) return null;
    out.push(`${identifier(c)} ${readType(type)}`);
  }
  return out.join(', ');
}

/**
 * The statement that inserts `file` (written in `insert.format`) into `insert.table`, reading it
 * with `structure` when given (see `readStructure`), else with the inserted columns' own.
 */
export function fileInsertQuery(insert: Pick<StoreBatchHead, 'table' | 'columns' | 'format'>, file: string, structure: string | null = null): string {
  if (!FORMATS.has(insert.format)) throw new Error(`unsupported insert format ${JSON.stringify(insert.format)}`);
  const columns = insert.columns && insert.columns.length > 0 ? ` (${insert.columns.map(identifier).join(', ')})` : '';
  const read = structure === null ? '' : `, ${literal(structure)}`;
  return `INSERT INTO ${identifier(insert.table)}${columns} SELECT * FROM file(${literal(file)}, ${literal(insert.format)}${read})`;
}
