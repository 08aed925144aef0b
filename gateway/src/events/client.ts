import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { ClickHouseLogLevel, createClient, type ClickHouseClient } from '@clickhouse/client';
import { createChdbConnection } from 'chdb/connection';

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
  mkdirSync(path, { recursive: true });
  const client = createClient({
    // chdb types its Connection against @clickhouse/client-common 1.23.0 while the client bundles
    // its own copy of the same interface; they are the same contract at runtime (chdb AGENTS.md).
    connection: createChdbConnection({ path }) as unknown as ClientConnection,
    clickhouse_settings: { output_format_json_quote_64bit_integers: 0 },
  });
  databases.set(client, DEFAULT_DATABASE);
  return client;
}
