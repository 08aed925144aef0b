import { mkdirSync } from 'node:fs';
import { createRequire } from 'node:module';
import { join } from 'node:path';
import { createClient, ClickHouseLogLevel } from '@clickhouse/client';
import type { createChdbConnection as CreateChdbConnection } from 'chdb/connection';
import type { IncomingMessage } from 'node:http';
import { attachedConsoleContext, type ConsoleContext } from './context.ts';

const IDENTIFIER = /^[A-Za-z_][A-Za-z0-9_]*$/;
const DEFAULT_DATABASE = 'watchllm';

type ClientConnection = NonNullable<NonNullable<Parameters<typeof createClient>[0]>['connection']>;

/**
 * The console's ClickHouse, from the gateway's own variables when it runs on its own:
 * `WATCHLLM_CLICKHOUSE_URL` (`http://user:pass@host:8123/db`, the database defaulting to
 * `watchllm`), else the embedded store under `WATCHLLM_DATA_DIR` (default `./.watchllm`), which
 * only opens while no gateway holds it.
 */
export function contextFromEnv(env: NodeJS.ProcessEnv = process.env): ConsoleContext {
  const adminToken = env['WATCHLLM_ADMIN_TOKEN'] || undefined;
  // as the gateway's config says: a token with whitespace could never be sent as a bearer
  if (adminToken !== undefined && /\s/.test(adminToken)) throw new Error('WATCHLLM_ADMIN_TOKEN must not contain whitespace (spaces, tabs or line breaks)');
  const url = env['WATCHLLM_CLICKHOUSE_URL'];
  if (url) {
    const u = new URL(url);
    const database = u.pathname.replace(/^\/+|\/+$/g, '') || DEFAULT_DATABASE;
    if (!IDENTIFIER.test(database)) throw new Error(`invalid ClickHouse database name in WATCHLLM_CLICKHOUSE_URL: ${database}`);
    u.pathname = '/';
    const client = createClient({
      url: u.toString(),
      request_timeout: 30_000,
      log: { level: ClickHouseLogLevel.OFF },
      clickhouse_settings: { output_format_json_quote_64bit_integers: 0, readonly: '2' },
    });
    return { client, database, adminToken };
  }
  const path = join(env['WATCHLLM_DATA_DIR'] || './.watchllm', 'clickhouse');
  mkdirSync(path, { recursive: true });
  const { createChdbConnection } = createRequire(import.meta.url)('chdb/connection') as {
    createChdbConnection: typeof CreateChdbConnection;
  };
  const client = createClient({
    connection: createChdbConnection({ path }) as unknown as ClientConnection,
    clickhouse_settings: { output_format_json_quote_64bit_integers: 0 },
  });
  return { client, database: DEFAULT_DATABASE, adminToken };
}

let own: ConsoleContext | undefined;

/** The gateway's context when it serves the console, else one built from the environment, once. */
export function consoleContext(req: IncomingMessage | undefined): ConsoleContext {
  return attachedConsoleContext(req) ?? (own ??= contextFromEnv());
}
