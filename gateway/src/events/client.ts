import { mkdirSync } from 'node:fs';
import { createRequire } from 'node:module';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { ClickHouseLogLevel, createClient, type ClickHouseClient } from '@clickhouse/client';
import type { createChdbConnection as CreateChdbConnection } from 'chdb/connection';

export type { ClickHouseClient } from '@clickhouse/client';

/** The database used when the URL names none, and always in embedded mode. */
export const DEFAULT_DATABASE = 'watchllm';

type ClientConnection = NonNullable<NonNullable<Parameters<typeof createClient>[0]>['connection']>;

const IDENTIFIER = /^[A-Za-z_][A-Za-z0-9_]*$/;

/**
 * Database per client. Our SQL always names tables fully (`watchllm.requests`) because the chDB
 * connection ignores clickhouse-js's `database` option (it has no per-request database), so the
 * same statements must work with and without one. Clients built elsewhere (tests) fall back to
 * `watchllm`.
 */
const databases = new WeakMap<ClickHouseClient, string>();

/** Bulk inserts of rows already encoded: NDJSON, one JSON line per row. */
export interface LineInsert {
  /** qualified table (`table(client, name)`) */
  table: string;
  /** the column order of JSONCompactEachRow lines; omitted for JSONEachRow objects */
  columns?: readonly string[];
  format: 'JSONEachRow' | 'JSONCompactEachRow';
  /** the lines, each ending with a newline */
  body: Buffer;
  settings: Record<string, string | number>;
  /** cuts an insert to a server short (the writer closing); an embedded insert runs to its end */
  signal?: AbortSignal;
}

type RawInsert = (params: {
  table: string;
  columns?: readonly string[];
  values: Buffer;
  format: LineInsert['format'];
  settings: Record<string, string | number>;
}) => Promise<unknown>;
/** chDB's raw insert, for clients over an embedded engine. */
const rawInserts = new WeakMap<ClickHouseClient, RawInsert>();

/** Whether `client` runs an engine inside this process (chDB), where no request can hang on a network. */
export function isEmbedded(client: ClickHouseClient): boolean {
  return rawInserts.has(client);
}

export function databaseOf(client: ClickHouseClient): string {
  return databases.get(client) ?? DEFAULT_DATABASE;
}

/** Qualified table name; the database name is checked once, so it is safe to splice into SQL. */
export function table(client: ClickHouseClient, name: string): string {
  return `${databaseOf(client)}.${name}`;
}

/**
 * One ClickHouse client for both sizes: a server via URL (`http://user:pass@host:8123/db`), or,
 * without a URL, an embedded chDB engine whose data lives in `${dataDir}/clickhouse` so the
 * folder can be opened with chDB after the gateway stops.
 *
 * chDB binds one data folder per process (chdb llms-full.txt, "One connection per data path per
 * process"): opening a second, different folder while one is live throws.
 *
 * @example
 * const ch = createClickHouse({ url: process.env.WATCHLLM_CLICKHOUSE_URL, dataDir: '.watchllm' });
 * await migrate(ch);
 */
export function createClickHouse(opts: { url?: string; dataDir: string }): ClickHouseClient {
  if (opts.url) {
    const url = new URL(opts.url);
    const database = url.pathname.replace(/^\/+|\/+$/g, '') || DEFAULT_DATABASE;
    if (!IDENTIFIER.test(database)) throw new Error(`invalid ClickHouse database name in URL: ${database}`);
    // The database may not exist yet (migrations create it): connect without one and qualify
    // every table name instead. Credentials in the URL are parsed by clickhouse-js.
    url.pathname = '/';
    const client = createClient({
      url: url.toString(),
      request_timeout: 30_000,
      // failures reach the caller (the writer counts and reports them once); the client's own
      // per-request error log would print every retry during an outage
      log: { level: ClickHouseLogLevel.OFF },
      // counts and sums come back as JSON numbers, as they do from chDB
      clickhouse_settings: { output_format_json_quote_64bit_integers: 0 },
    });
    databases.set(client, database);
    return client;
  }
  const path = join(opts.dataDir, 'clickhouse');
  // the data dir and the events in it are the gateway user's alone
  mkdirSync(path, { recursive: true, mode: 0o700 });
  // Loaded only here: chDB maps a ~540 MB native library, which a gateway writing to a ClickHouse
  // server never needs. The entry is CommonJS, so a synchronous require keeps this function sync.
  const { createChdbConnection } = createRequire(import.meta.url)('chdb/connection') as {
    createChdbConnection: typeof CreateChdbConnection;
  };
  const connection = createChdbConnection({ path });
  const client = createClient({
    // chdb types its Connection against @clickhouse/client-common 1.23.0 while the client bundles
    // its own copy of the same interface; they are the same contract at runtime (chdb AGENTS.md).
    connection: connection as unknown as ClientConnection,
    clickhouse_settings: { output_format_json_quote_64bit_integers: 0 },
  });
  databases.set(client, DEFAULT_DATABASE);
  rawInserts.set(client, (params) => connection.chdb.rawInsert(params));
  return client;
}

/**
 * Insert encoded lines as one statement. Embedded, through chDB's raw insert: the bytes go to
 * the engine as they are and settings ride in a SETTINGS clause. Through `client.exec`, chDB's
 * connection would prepend each setting as a `SET ...;` statement to a query that carries the
 * whole batch, and splitting statements scans the batch again: measured on 10,000 request rows,
 * about 23 µs of CPU per row against about 16. To a server, one HTTP body.
 */
export async function insertLines(client: ClickHouseClient, insert: LineInsert): Promise<void> {
  const { body } = insert;
  const raw = rawInserts.get(client);
  if (raw) {
    const { table, columns, format, settings } = insert;
    await raw({ table, columns, format, settings, values: body });
    return;
  }
  const columns = insert.columns ? ` (${insert.columns.join(', ')})` : '';
  const result = await client.exec({
    query: `INSERT INTO ${insert.table}${columns} FORMAT ${insert.format}`,
    values: Readable.from([body]),
    clickhouse_settings: insert.settings,
    ...(insert.signal ? { abort_signal: insert.signal } : {}),
  });
  // the (empty) answer must be read for the HTTP connection to go back to the pool
  for await (const _ of result.stream) void _;
}
