import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { ClickHouseLogLevel, createClient, type ClickHouseClient } from '@clickhouse/client';
import { StoreConnection } from './store-connection.ts';
import type { BatchFormat } from './store-protocol.ts';

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

/** Bulk inserts of rows already encoded: RowBinary rows, or NDJSON (one JSON line per row). */
export interface RowsInsert {
  /** qualified table (`table(client, name)`) */
  table: string;
  /** the column order of RowBinary and JSONCompactEachRow rows; omitted for JSONEachRow objects */
  columns?: readonly string[];
  format: BatchFormat;
  /** the encoded rows (as JSON lines, each ends with a newline) */
  body: Buffer;
  settings: Record<string, string | number>;
  /** cuts an insert to a server short (the writer closing); an embedded insert runs to its end */
  signal?: AbortSignal;
}

/** The store process behind each embedded client (its `insertBatch` takes the writer's batches). */
const storeOf = new WeakMap<ClickHouseClient, StoreConnection>();

/**
 * Whether `client` runs on the embedded engine (chDB in the gateway's own store process), where no
 * request can hang on a network: a store that dies refuses its calls at once.
 */
export function isEmbedded(client: ClickHouseClient): boolean {
  return storeOf.has(client);
}

/** How often an embedded client's store process has crashed (and was started again); undefined for a server. */
export function storeCrashes(client: ClickHouseClient): number | undefined {
  return storeOf.get(client)?.crashes;
}

/** The pid of an embedded client's store process while it runs (for measuring its CPU). */
export function storeProcessId(client: ClickHouseClient): number | undefined {
  return storeOf.get(client)?.pid;
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
 * The embedded engine runs in a process of its own (store-process.ts), at a lower CPU priority
 * (`storeNice`, default DEFAULT_STORE_NICE), answering the client's calls over IPC with
 * chdb/connection: its threads never compete with the proxy's at equal priority, and a fault in
 * the engine cannot take the proxy down (the store is started again; the writer spools meanwhile).
 * Clients over the same folder in one process share one store process, as chDB binds one engine
 * per folder; the last `close` ends it.
 *
 * @example
 * const ch = createClickHouse({ url: process.env.WATCHLLM_CLICKHOUSE_URL, dataDir: '.watchllm' });
 * await migrate(ch);
 */
export function createClickHouse(opts: {
  url?: string;
  dataDir: string;
  /** embedded: nice value of the store process (default DEFAULT_STORE_NICE) */
  storeNice?: number;
  /** embedded: told when the store process exited unexpectedly (it is started again) */
  onStoreExit?: (how: string) => void;
}): ClickHouseClient {
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
  const { connection, store } = openStore(path, opts.storeNice ?? DEFAULT_STORE_NICE, opts.onStoreExit);
  const client = createClient({
    // the store process answers the Connection contract of chdb/connection, which chdb types against
    // @clickhouse/client-common while the client bundles its own copy of the same interface
    connection: connection as unknown as ClientConnection,
    clickhouse_settings: { output_format_json_quote_64bit_integers: 0 },
  });
  databases.set(client, DEFAULT_DATABASE);
  storeOf.set(client, store);
  return client;
}

/**
 * Nice value of the embedded store's process: events wait for CPU the proxy does not need. 10
 * gives the engine about a tenth of a busy CPU's share against the gateway; on an idle machine it
 * runs at full speed.
 */
export const DEFAULT_STORE_NICE = 10;

/**
 * One store process per data folder in this process, shared by the clients over it (chDB's own
 * rule: one engine per folder), closed with the last of them.
 */
const stores = new Map<string, { connection: StoreConnection; users: number }>();

/**
 * The folder's shared store, and a handle on it for one client: everything but `close`, which the
 * client calls once, goes to the store; the process ends when no client uses it.
 */
function openStore(path: string, nice: number, onExit?: (how: string) => void): { connection: StoreConnection; store: StoreConnection } {
  let entry = stores.get(path);
  if (!entry) {
    entry = { connection: new StoreConnection({ path, nice, ...(onExit ? { onExit } : {}) }), users: 0 };
    stores.set(path, entry);
  }
  entry.users++;
  const shared = entry;
  let closed = false;
  const connection = new Proxy(shared.connection, {
    get(target, prop, receiver) {
      if (prop === 'close') {
        return async () => {
          if (closed) return;
          closed = true;
          if (--shared.users > 0) return;
          stores.delete(path);
          await target.close();
        };
      }
      const v = Reflect.get(target, prop, receiver) as unknown;
      return typeof v === 'function' ? (v as (...a: unknown[]) => unknown).bind(target) : v;
    },
  });
  return { connection, store: shared.connection };
}

/**
 * Insert encoded rows as one statement. Embedded, the batch crosses to the store process on its
 * data pipe (store-protocol.ts), which has the engine read it from a file (store-insert.ts): not
 * through `client.exec`, whose query would carry the whole batch inline (the costliest way found).
 * To a server, one HTTP body.
 */
export async function insertRows(client: ClickHouseClient, insert: RowsInsert): Promise<void> {
  const { body } = insert;
  const store = storeOf.get(client);
  if (store) {
    const { table, columns, format, settings } = insert;
    await store.insertBatch({ table, columns, format, settings, values: body });
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
