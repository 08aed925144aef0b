import { mkdtempSync, rmSync } from 'node:fs';
import { createServer, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { createClickHouse, type ClickHouseClient } from './client.ts';
import { appliedVersions, migrate, migrateAtStart, migrations } from './migrations.ts';

// chDB binds one data folder per process; vitest runs each test file in its own forked process,
// so each file gets its own temp folder.
let dir: string;
let client: ClickHouseClient;

beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'watchllm-migrations-'));
  client = createClickHouse({ dataDir: dir });
});

afterAll(async () => {
  await client.close();
  rmSync(dir, { recursive: true, force: true });
});

async function columns(): Promise<Map<string, string>> {
  const rs = await client.query({
    query: "SELECT name, type FROM system.columns WHERE database = 'watchllm' AND table = 'requests'",
    format: 'JSONEachRow',
  });
  return new Map((await rs.json<{ name: string; type: string }>()).map((c) => [c.name, c.type]));
}

describe('migrate', () => {
  test('applies every migration once and a second run applies none', async () => {
    const all = migrations.map((m) => m.version);
    expect(await migrate(client)).toEqual(all);
    expect(await migrate(client)).toEqual([]);
    expect(await appliedVersions(client)).toEqual(all);
  });

  test.each([
    ['request_id', 'String'],
    ['ts', "DateTime64(3, 'UTC')"],
    ['status_code', 'UInt16'],
    ['model', 'LowCardinality(String)'],
    ['prompt_tokens', 'UInt32'],
    ['completion_tokens', 'UInt32'],
    ['cost_usd', 'Nullable(Float64)'],
    ['properties', 'Map(String, String)'],
  ] as const)('requests has the column scripts rely on: %s %s', async (name, type) => {
    await migrate(client);
    expect((await columns()).get(name)).toBe(type);
  });

  test('the tables the writer inserts into with deduplication tokens, and the rollup its view feeds, remember them', async () => {
    await migrate(client);
    const rs = await client.query({
      query: "SELECT name, engine_full FROM system.tables WHERE database = 'watchllm' AND name IN ('requests', 'requests_1m', 'events') ORDER BY name",
      format: 'JSONEachRow',
    });
    const tables = await rs.json<{ name: string; engine_full: string }>();
    expect(tables.map((t) => t.name)).toEqual(['events', 'requests', 'requests_1m']);
    for (const t of tables) expect(t.engine_full, t.name).toMatch(/non_replicated_deduplication_window = 10000/);
  });

  test('concurrent runs (several replicas starting) all succeed and leave one schema', async () => {
    await Promise.all([migrate(client), migrate(client), migrate(client)]);
    const rs = await client.query({
      query: "SELECT name FROM system.tables WHERE database = 'watchllm' ORDER BY name",
      format: 'JSONEachRow',
    });
    expect((await rs.json<{ name: string }>()).map((t) => t.name)).toEqual([
      'events',
      'requests',
      'requests_1m',
      'requests_1m_mv',
      'schema_migrations',
    ]);
  });

  test('retention days set, changed and removed are reflected in the table TTL', async () => {
    const ttl = async () => {
      const rs = await client.query({
        query: "SELECT engine_full FROM system.tables WHERE database = 'watchllm' AND name = 'requests'",
        format: 'JSONEachRow',
      });
      const [row] = await rs.json<{ engine_full: string }>();
      return /TTL (.*?) SETTINGS/.exec(row?.engine_full ?? '')?.[1] ?? null;
    };
    await migrate(client, { retentionDays: 30 });
    expect(await ttl()).toBe('toDateTime(ts) + toIntervalDay(30)');
    await migrate(client, { retentionDays: 7 });
    expect(await ttl()).toBe('toDateTime(ts) + toIntervalDay(7)');
    await migrate(client, { retentionDays: null });
    expect(await ttl()).toBeNull();
  });
});

describe('migrateAtStart', () => {
  const log = { info() {}, warn() {}, error() {} };

  test('a ClickHouse that refuses connections does not fail the start; retries run until stopped', async () => {
    const srv = createServer();
    await new Promise<void>((r) => srv.listen(0, '127.0.0.1', r));
    const port = (srv.address() as { port: number }).port;
    await new Promise<void>((r) => srv.close(() => r()));
    const down = createClickHouse({ url: `http://127.0.0.1:${port}/watchllm`, dataDir: dir });
    const warned: string[] = [];
    const started = await migrateAtStart(down, { log: { ...log, warn: (_f, m) => warned.push(m) }, retryMs: 20 });
    expect(started.applied()).toBe(false);
    await expect.poll(() => warned.length, { timeout: 2000 }).toBeGreaterThanOrEqual(2);
    started.stop();
    const seen = warned.length;
    await new Promise((r) => setTimeout(r, 100));
    expect(warned.length).toBe(seen);
    expect(warned[0]).toMatch(/unreachable at start/);
    await down.close();
  });

  test('a ClickHouse that takes connections and never answers holds the start for waitMs only', async () => {
    // a network partition: the TCP handshake succeeds, no answer ever comes (30 s request timeout)
    const sockets = new Set<Socket>();
    const hole = createServer((s) => void sockets.add(s));
    await new Promise<void>((r) => hole.listen(0, '127.0.0.1', r));
    const port = (hole.address() as { port: number }).port;
    const silent = createClickHouse({ url: `http://127.0.0.1:${port}/watchllm`, dataDir: dir });
    const warned: string[] = [];
    const t0 = Date.now();
    const started = await migrateAtStart(silent, { log: { ...log, warn: (_f, m) => warned.push(m) }, waitMs: 300 });
    expect(Date.now() - t0).toBeLessThan(2000);
    expect(started.applied()).toBe(false);
    expect(warned).toEqual([expect.stringMatching(/not answered the migrations yet: serving anyway/)]);
    started.stop();
    await silent.close();
    for (const s of sockets) s.destroy();
    await new Promise<void>((r) => hole.close(() => r()));
  });

  test('a failure that is not an outage still fails the start', async () => {
    await expect(migrateAtStart(client, { log, retentionDays: 0 })).rejects.toThrow(/retentionDays must be a positive integer/);
  });

  test('a reachable ClickHouse is migrated before it resolves', async () => {
    const started = await migrateAtStart(client, { log });
    started.stop();
    expect(started.applied()).toBe(true);
    expect(await appliedVersions(client)).toEqual(migrations.map((m) => m.version));
  });
});
