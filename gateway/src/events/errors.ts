/**
 * ClickHouse error codes that mean "this data will never go in" (parse and type errors), as
 * opposed to an outage or overload that a later retry can outlive. Anything else, including
 * network errors, is treated as transient so that nothing is thrown away by mistake.
 * Codes: https://github.com/ClickHouse/ClickHouse/blob/master/src/Common/ErrorCodes.cpp
 */
const PERMANENT = new Set([
  6, // CANNOT_PARSE_TEXT
  16, // NO_SUCH_COLUMN_IN_TABLE (only once this process's migrations ran: see SCHEMA_BEHIND)
  25, // CANNOT_PARSE_ESCAPE_SEQUENCE (a lone UTF-16 surrogate)
  26, // CANNOT_PARSE_QUOTED_STRING
  27, // CANNOT_PARSE_INPUT_ASSERTION_FAILED
  38, // CANNOT_PARSE_DATE
  41, // CANNOT_PARSE_DATETIME
  53, // TYPE_MISMATCH
  62, // SYNTAX_ERROR
  69, // ARGUMENT_OUT_OF_BOUND
  70, // CANNOT_CONVERT_TYPE
  72, // CANNOT_PARSE_NUMBER
  117, // INCORRECT_DATA
  131, // TOO_LARGE_STRING_SIZE
  349, // CANNOT_INSERT_NULL_IN_ORDINARY_COLUMN
  691, // UNKNOWN_ELEMENT_OF_ENUM
]);

/** The server's numeric error code, if the error came from ClickHouse rather than the network. */
export function clickhouseCode(err: unknown): number | null {
  if (typeof err !== 'object' || err === null) return null;
  // clickhouse-js's ClickHouseError has a numeric-string `code`; chdb/connection rethrows its own
  // copy of that class (from @clickhouse/client-common), so `instanceof` is not reliable here.
  const { code, clickhouseCode: native } = err as { code?: unknown; clickhouseCode?: unknown };
  if (typeof code === 'string' && /^\d+$/.test(code)) return Number(code);
  if (typeof native === 'number') return native;
  return null;
}

/**
 * Codes that say the schema is behind the rows (a column, table or database missing): what a
 * gateway of a newer version gets from a ClickHouse its migrations have not reached yet (an
 * upgrade during an outage). Not bad data until this process's migrations have succeeded:
 * until then such rows must wait in the spool, not go to spool/rejected/.
 */
const SCHEMA_BEHIND = new Set([
  10, // NOT_FOUND_COLUMN_IN_BLOCK
  16, // NO_SUCH_COLUMN_IN_TABLE
  47, // UNKNOWN_IDENTIFIER
  60, // UNKNOWN_TABLE
  81, // UNKNOWN_DATABASE
]);

/**
 * A spooled line that is not JSON at all, found before anything was sent (the writer reads the
 * first line of a batch to learn its columns): a file cut short by a power cut (the spool does not
 * fsync). Bad data, like a line ClickHouse refuses to parse.
 */
export class UnreadableLine extends Error {
  override name = 'UnreadableLine';
}

/**
 * Whether `err` means the data will never go in. `schemaCurrent`: this process's migrations have
 * succeeded, so a missing column is a fault of the rows, not a schema still to be migrated.
 */
export function isPermanent(err: unknown, schemaCurrent = true): boolean {
  if (err instanceof UnreadableLine) return true;
  const code = clickhouseCode(err);
  if (code === null) return false;
  if (!schemaCurrent && SCHEMA_BEHIND.has(code)) return false;
  return PERMANENT.has(code);
}

/**
 * The server was not reached (refused, reset, DNS, timeout), as opposed to an answer from
 * ClickHouse or a mistake of ours: trying again later may work. Node network errors carry an
 * `E...` code; clickhouse-js reports its request timeout as a plain `Timeout error.`.
 */
export function isUnreachable(err: unknown): boolean {
  if (typeof err !== 'object' || err === null || clickhouseCode(err) !== null) return false;
  const { code, message } = err as { code?: unknown; message?: unknown };
  if (typeof code === 'string' && /^(E[A-Z]+|UND_ERR_[A-Z_]+)$/.test(code)) return true;
  return typeof message === 'string' && /timeout/i.test(message);
}
