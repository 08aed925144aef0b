import type { ClickHouseClient } from '@clickhouse/client';
import type { Logger } from '../log.ts';
import { databaseOf, isEmbedded } from './client.ts';
import { isUnreachable } from './errors.ts';
import { migrations, RETAINED_TABLES, type Migration } from './schema.ts';

export { migrations, type Migration } from './schema.ts';

export interface MigrateOptions {
  /** Days to keep rows of `requests` and `events`; null/undefined keeps them forever. */
  retentionDays?: number | null;
  /** Defaults to the shipped list; tests pass their own. */
  list?: readonly Migration[];
}

function sql(statement: string, db: string): string {
  return statement.replaceAll('{db}', db);
}

/**
 * Apply pending migrations in version order, then the retention TTL. Safe to run on every start
 * and on several replicas at once: statements are `IF NOT EXISTS`, and recording a version twice
 * is harmless (`schema_migrations` is a ReplacingMergeTree keyed on version).
 * Returns the versions this call ran.
 */
export async function migrate(client: ClickHouseClient, opts: MigrateOptions = {}): Promise<number[]> {
  const db = databaseOf(client);
  const list = [...(opts.list ?? migrations)].sort((a, b) => a.version - b.version);
  await client.command({ query: `CREATE DATABASE IF NOT EXISTS ${db}` });
  await client.command({
    query: `CREATE TABLE IF NOT EXISTS ${db}.schema_migrations (
      version UInt32, name String, applied_at DateTime64(3, 'UTC') DEFAULT now64(3)
    ) ENGINE = ReplacingMergeTree ORDER BY version`,
  });
  const done = new Set(await appliedVersions(client));
  const ran: number[] = [];
  for (const m of list) {
    if (done.has(m.version)) continue;
    for (const statement of m.statements) await client.command({ query: sql(statement, db) });
    await client.insert({
      table: `${db}.schema_migrations`,
      values: [{ version: m.version, name: m.name }],
      format: 'JSONEachRow',
      // a token of its own: chDB keeps SET values for the session, so a token must never be
      // left over from a previous insert (see writer.ts)
      clickhouse_settings: { insert_deduplication_token: `migration-${m.version}-${Date.now()}` },
    });
    ran.push(m.version);
  }
  await applyRetention(client, opts.retentionDays ?? null);
  return ran;
}

/** Migrations started with the gateway (`migrateAtStart`). */
export interface StartupMigrations {
  /** Whether they have succeeded in this process: the writer inserts nothing before (writer.ts). */
  applied(): boolean;
  /** Stop the retries (on close). */
  stop(): void;
}

/**
 * `migrate` for a gateway that is starting: a ClickHouse that cannot be reached (a restart during
 * an outage, a server still booting, a host that takes connections and never answers) must not
 * keep the proxy from serving, because the writer spools events meanwhile. Resolves once the
 * migrations have run, or after `waitMs` (default 3 s against a server; an embedded engine, in the
 * process, is waited for) with them still running, or when a first attempt could not reach the
 * server; then they are retried in the background with doubling delays until they succeed. A first
 * failure within `waitMs` that is not an outage (bad credentials, bad SQL, bad options) still fails
 * the start; after it, such a failure is logged at `error` and retried. Until migrations have
 * succeeded here, `applied()` says no and the writer keeps batches in the spool: a newer version's
 * rows would be refused by an older schema (a column missing) and set aside for good.
 */
export async function migrateAtStart(
  client: ClickHouseClient,
  opts: MigrateOptions & {
    log: Pick<Logger, 'info' | 'warn' | 'error'>;
    retryMs?: number;
    maxRetryMs?: number;
    waitMs?: number;
  },
): Promise<StartupMigrations> {
  const { log, retryMs = 1000, maxRetryMs = 30_000, waitMs = isEmbedded(client) ? Infinity : 3000 } = opts;
  let timer: NodeJS.Timeout | undefined;
  let waited: NodeJS.Timeout | undefined;
  let stopped = false;
  let applied = false;
  /** the start went on without waiting for the first attempt */
  let late = false;
  const attempt = async (delay: number, first: boolean): Promise<void> => {
    try {
      await migrate(client, opts);
      applied = true;
      if (!first || late) log.info({ component: 'events' }, 'ClickHouse reachable: migrations applied');
    } catch (err) {
      if (stopped) return;
      const outage = isUnreachable(err);
      if (first && !late && !outage) throw err;
      if (outage) {
        log.warn(
          { component: 'events', err, retryInMs: delay },
          first ? 'ClickHouse unreachable at start: serving anyway, events are spooled; retrying migrations' : 'migrations still failing',
        );
      } else {
        log.error({ component: 'events', err, retryInMs: delay }, 'migrations failed: events are spooled until they succeed; retrying');
      }
      timer = setTimeout(() => void attempt(Math.min(maxRetryMs, delay * 2), false), delay);
      timer.unref();
    }
  };
  const first = attempt(retryMs, true);
  if (Number.isFinite(waitMs)) {
    const bound = new Promise<void>((resolve) => {
      waited = setTimeout(() => {
        // set before the race settles, so a failure from now on is retried, never thrown
        late = true;
        log.warn(
          { component: 'events', waitedMs: waitMs },
          'ClickHouse has not answered the migrations yet: serving anyway, events are spooled until they are applied',
        );
        resolve();
      }, waitMs);
      waited.unref();
    });
    try {
      await Promise.race([first, bound]);
    } finally {
      clearTimeout(waited);
    }
  } else {
    await first;
  }
  return {
    applied: () => applied,
    stop() {
      stopped = true;
      clearTimeout(timer);
    },
  };
}

export async function appliedVersions(client: ClickHouseClient): Promise<number[]> {
  const rs = await client.query({
    query: `SELECT DISTINCT version FROM ${databaseOf(client)}.schema_migrations ORDER BY version`,
    format: 'JSONEachRow',
  });
  const rows = await rs.json<{ version: number }>();
  return rows.map((r) => Number(r.version));
}

/**
 * Make the TTL of the retained tables match the configuration. Only alters when it differs, since
 * `MODIFY TTL` starts a mutation that rewrites old parts.
 * https://clickhouse.com/docs/engines/table-engines/mergetree-family/mergetree#table_engine-mergetree-ttl
 */
async function applyRetention(client: ClickHouseClient, days: number | null): Promise<void> {
  if (days !== null && (!Number.isInteger(days) || days <= 0)) {
    throw new Error(`retentionDays must be a positive integer, got ${days}`);
  }
  const db = databaseOf(client);
  for (const name of RETAINED_TABLES) {
    const current = await currentTtlDays(client, db, name);
    if (current === days) continue;
    if (days === null) {
      await client.command({ query: `ALTER TABLE ${db}.${name} REMOVE TTL` });
    } else {
      await client.command({ query: `ALTER TABLE ${db}.${name} MODIFY TTL toDateTime(ts) + INTERVAL ${days} DAY` });
    }
  }
}

async function currentTtlDays(client: ClickHouseClient, db: string, name: string): Promise<number | null> {
  const rs = await client.query({
    query: 'SELECT engine_full FROM system.tables WHERE database = {db:String} AND name = {name:String}',
    query_params: { db, name },
    format: 'JSONEachRow',
  });
  const [row] = await rs.json<{ engine_full: string }>();
  const m = /TTL .*toIntervalDay\((\d+)\)/.exec(row?.engine_full ?? '');
  return m?.[1] === undefined ? null : Number(m[1]);
}
