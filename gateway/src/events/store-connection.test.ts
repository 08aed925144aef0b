import { spawn, type ChildProcess } from 'node:child_process';
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, describe, expect, test } from 'vitest';
import { Registry } from 'prom-client';
import { createClickHouse, insertRows, storeCrashes, storeProcessId, type ClickHouseClient } from './client.ts';
import { clickhouseCode, isPermanent, isUnreachable } from './errors.ts';
import { exchangeFixture } from './fixtures.ts';
import { migrate } from './migrations.ts';
import { INSERT_FOLDER } from './store-insert.ts';
import { createEventWriter, registerWriterMetrics } from './writer.ts';

const dirs: string[] = [];
function tempDir(): string {
  const d = mkdtempSync(join(tmpdir(), 'watchllm-store-'));
  dirs.push(d);
  return d;
}
afterAll(() => {
  for (const d of dirs) rmSync(d, { recursive: true, force: true, maxRetries: 3 });
});

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

async function until<T>(what: string, fn: () => Promise<T | undefined> | T | undefined, ms = 30_000): Promise<T> {
  const deadline = Date.now() + ms;
  for (;;) {
    const v = await fn();
    if (v !== undefined) return v;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await sleep(50);
  }
}

async function count(client: ClickHouseClient, sql: string): Promise<number> {
  const rs = await client.query({ query: sql, format: 'JSONEachRow' });
  const [row] = await rs.json<{ n: number | string }>();
  return Number(row?.n ?? 0);
}

/** Name and nice value of every thread of `pid` (fields 2 and 19 of /proc/<pid>/task/<tid>/stat). */
function threadNices(pid: number): Array<{ name: string; nice: number }> {
  return readdirSync(`/proc/${pid}/task`).map((tid) => {
    const stat = readFileSync(`/proc/${pid}/task/${tid}/stat`, 'utf8');
    const fields = stat.split(') ')[1]!.split(' ');
    return { name: stat.slice(stat.indexOf('(') + 1, stat.lastIndexOf(')')), nice: Number(fields[16]) };
  });
}

describe('the embedded store process', () => {
  test('the engine runs in a process of its own, every thread at the lower priority asked for, without V8\'s memory reducer', async () => {
    const client = createClickHouse({ dataDir: tempDir(), storeNice: 7 });
    try {
      expect(await count(client, 'SELECT count() AS n FROM numbers(1000)')).toBe(1000);
      const pid = storeProcessId(client);
      expect(pid).toBeTypeOf('number');
      expect(pid).not.toBe(process.pid);
      // chDB's own pools (started by the query above) included, and its MemoryWorker, which raises
      // its own priority when it may (running as root)
      const threads = threadNices(pid!);
      expect(threads.length).toBeGreaterThan(4);
      expect(threads.map((t) => t.name)).toContain('MemoryWorker');
      expect(new Set(threads.map((t) => t.nice))).toEqual(new Set([7]));
      // V8's memory reducer, which ran full collections in every wait between batches, is off
      expect(readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0')).toContain('--no-memory-reducer');
    } finally {
      await client.close();
    }
  });

  test('results, typed parameters and inserts cross as they would in-process; errors come back as ClickHouse errors', async () => {
    const client = createClickHouse({ dataDir: tempDir() });
    try {
      await client.command({ query: 'CREATE TABLE t (name String, n UInt32) ENGINE = MergeTree ORDER BY n' });
      await client.insert({ table: 't', values: [{ name: "it's \\ \"quoted\" é", n: 1 }, { name: 'b', n: 2 }], format: 'JSONEachRow' });
      const rs = await client.query({
        query: 'SELECT name, n FROM t WHERE name = {name:String} OR n IN {ns:Array(UInt32)} ORDER BY n',
        query_params: { name: "it's \\ \"quoted\" é", ns: [2] },
        format: 'JSONEachRow',
      });
      expect(await rs.json()).toEqual([
        { name: "it's \\ \"quoted\" é", n: 1 },
        { name: 'b', n: 2 },
      ]);
      const err = await client.query({ query: 'SELEC 1' }).catch((e: unknown) => e);
      expect(clickhouseCode(err)).toBe(62); // SYNTAX_ERROR
      expect(isPermanent(err)).toBe(true);
      expect(isUnreachable(err)).toBe(false);
    } finally {
      await client.close();
    }
  });

  test('a store process that dies: calls in flight fail as unreachable, it is started again, and the writer loses no row', async () => {
    const dataDir = tempDir();
    const client = createClickHouse({ dataDir });
    const writer = createEventWriter({ client, dataDir, batchSize: 50, flushMs: 50, retryDelayMs: 50, logger: { info() {}, warn() {}, error() {} } });
    const registry = new Registry();
    registerWriterMetrics(registry, writer, { crashes: () => storeCrashes(client) });
    try {
      expect(await registry.metrics()).toContain('watchllm_events_store_crashes_total 0');
      await migrate(client);
      let n = 0;
      for (; n < 100; n++) writer.record(exchangeFixture(n + 1));
      await until('the first rows', async () => ((await count(client, 'SELECT count() AS n FROM watchllm.requests')) === 100 ? true : undefined));

      const first = storeProcessId(client)!;
      const running = client.query({ query: 'SELECT sleepEachRow(0.5) FROM numbers(6)', format: 'JSONEachRow' }).then(
        () => null,
        (e: unknown) => e,
      );
      await sleep(300);
      process.kill(first, 'SIGKILL');
      const err = await running;
      expect(isUnreachable(err)).toBe(true);
      // rows recorded while the store is down or starting again
      for (; n < 250; n++) writer.record(exchangeFixture(n + 1));

      const second = await until('a new store process', () => {
        const pid = storeProcessId(client);
        return pid !== undefined && pid !== first ? pid : undefined;
      });
      expect(alive(first)).toBe(false);
      expect(second).not.toBe(first);
      await until('every row, once', async () => {
        const stored = await count(client, 'SELECT count() AS n FROM watchllm.requests').catch(() => -1);
        return stored === 250 ? true : undefined;
      });
      expect(await count(client, 'SELECT uniqExact(request_id) AS n FROM watchllm.requests')).toBe(250);
      expect(writer.stats().dropped).toBe(0);
      expect(storeCrashes(client)).toBe(1);
      expect(await registry.metrics()).toContain('watchllm_events_store_crashes_total 1');
    } finally {
      await writer.close();
      await client.close();
    }
  }, 60_000);

  test('a batch reaches the engine through a file in the store folder that is gone after; values, defaults and errors are an inline insert\'s', async () => {
    // a data dir whose path needs quoting in SQL
    const dataDir = join(tempDir(), `it's "odd" \\ dir`);
    mkdirSync(dataDir);
    const inserts = join(dataDir, 'clickhouse', INSERT_FOLDER);
    let client = createClickHouse({ dataDir });
    const lines = (text: string, columns: string[]) =>
      insertRows(client, { table: 'default.lc', format: 'JSONCompactEachRow', columns, body: Buffer.from(text), settings: { insert_deduplication_token: text } });
    try {
      await client.command({
        query: "CREATE TABLE default.lc (id String, kind LowCardinality(String), n UInt32, note String DEFAULT 'none') ENGINE = MergeTree ORDER BY id",
      });
      // LowCardinality columns are read as text and converted: the values are the ones sent
      await lines('["a","x",1]\n["b","y é",2]\n["c","x",3]\n', ['id', 'kind', 'n']);
      const rows = async () => (await client.query({ query: 'SELECT id, kind, n, note FROM default.lc ORDER BY id', format: 'JSONEachRow' })).json();
      expect(await rows()).toEqual([
        { id: 'a', kind: 'x', n: 1, note: 'none' },
        { id: 'b', kind: 'y é', n: 2, note: 'none' },
        { id: 'c', kind: 'x', n: 3, note: 'none' },
      ]);
      expect(readdirSync(inserts)).toEqual([]);
      // a column the table does not have yet: the engine's own error (a schema behind the rows)
      const missing = await lines('["d","x",4,"later"]\n', ['id', 'kind', 'n', 'added']).catch((e: unknown) => e);
      expect(clickhouseCode(missing)).toBe(16); // NO_SUCH_COLUMN_IN_TABLE
      // ... and once a migration adds it, the same batch goes in
      await client.command({ query: "ALTER TABLE default.lc ADD COLUMN added LowCardinality(String) DEFAULT ''" });
      await lines('["d","x",4,"later"]\n', ['id', 'kind', 'n', 'added']);
      const [d] = await (await client.query({ query: "SELECT added FROM default.lc WHERE id = 'd'", format: 'JSONEachRow' })).json();
      expect(d).toEqual({ added: 'later' });
      // bad data is refused as bad data, and nothing of its batch is stored
      const bad = await lines('["e","x",5]\n["f","x","five"]\n', ['id', 'kind', 'n']).catch((e: unknown) => e);
      expect(isPermanent(bad)).toBe(true);
      expect(await count(client, "SELECT count() AS n FROM default.lc WHERE id IN ('e', 'f')")).toBe(0);
      expect(readdirSync(inserts)).toEqual([]);
      await client.close();

      // a batch file a killed store left behind is cleared when the next store opens the folder
      writeFileSync(join(inserts, '7.jsonl'), '["z","x",9]\n');
      client = createClickHouse({ dataDir });
      expect(await count(client, 'SELECT count() AS n FROM default.lc')).toBe(4);
      expect(readdirSync(inserts)).toEqual([]);
    } finally {
      await client.close();
    }
  });

  test('close ends the process after its statements; the folder then opens again with its data', async () => {
    const dataDir = tempDir();
    const a = createClickHouse({ dataDir });
    await a.command({ query: 'CREATE TABLE IF NOT EXISTS default.kept (n UInt32) ENGINE = MergeTree ORDER BY n' });
    await a.insert({ table: 'default.kept', values: [{ n: 1 }, { n: 2 }, { n: 3 }], format: 'JSONEachRow' });
    const pid = storeProcessId(a)!;
    await a.close();
    expect(alive(pid)).toBe(false);
    await expect(a.query({ query: 'SELECT 1' })).rejects.toThrow(/closed/);

    const b = createClickHouse({ dataDir });
    try {
      expect(await count(b, 'SELECT count() AS n FROM default.kept')).toBe(3);
    } finally {
      await b.close();
    }
  });

  test('clients over one folder share its store; it ends with the last of them', async () => {
    const dataDir = tempDir();
    const a = createClickHouse({ dataDir });
    const b = createClickHouse({ dataDir });
    await a.command({ query: 'SELECT 1' });
    const pid = storeProcessId(a)!;
    expect(storeProcessId(b)).toBe(pid);
    await a.close();
    expect(await count(b, 'SELECT count() AS n FROM numbers(5)')).toBe(5);
    await b.close();
    expect(alive(pid)).toBe(false);
  });

  test('a folder another process holds is refused with the reason, not retried as an outage', async () => {
    const dataDir = tempDir();
    const owner = await holdFolder(dataDir);
    try {
      const client = createClickHouse({ dataDir });
      const err = await client.query({ query: 'SELECT 1' }).catch((e: unknown) => e);
      expect(String(err)).toMatch(/could not open .*clickhouse/);
      expect(isUnreachable(err)).toBe(false);
      // not started again: the same answer at once
      expect(storeProcessId(client)).toBeUndefined();
      await expect(client.query({ query: 'SELECT 1' })).rejects.toThrow(/could not open/);
      await client.close();
    } finally {
      owner.process.kill('SIGKILL');
    }
  }, 45_000);

  test('the store ends when the process that started it ends without closing it', async () => {
    const dataDir = tempDir();
    const { process: owner, store } = await holdFolder(dataDir);
    try {
      expect(alive(store)).toBe(true);
      owner.kill('SIGKILL');
      await until('the store to exit', () => (alive(store) ? undefined : true), 15_000);
      // and it let go of the folder
      const again = createClickHouse({ dataDir });
      expect(await count(again, 'SELECT count() AS n FROM numbers(2)')).toBe(2);
      await again.close();
    } finally {
      owner.kill('SIGKILL');
    }
  }, 45_000);
});

/** Another process with an embedded client open on `dataDir`, and the pid of its store process. */
async function holdFolder(dataDir: string): Promise<{ process: ChildProcess; store: number }> {
  const clientTs = fileURLToPath(new URL('./client.ts', import.meta.url));
  const script = [
    `const { createClickHouse, storeProcessId } = await import(${JSON.stringify(clientTs)});`,
    `const c = createClickHouse({ dataDir: ${JSON.stringify(dataDir)} });`,
    `await c.command({ query: 'SELECT 1' });`,
    `process.stdout.write('store ' + storeProcessId(c) + '\\n');`,
    `setInterval(() => {}, 1000);`,
  ].join('\n');
  const owner = spawn(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', script], { stdio: ['ignore', 'pipe', 'inherit'] });
  let out = '';
  owner.stdout!.on('data', (b: Buffer) => (out += b.toString('utf8')));
  const store = await until('the owner to start its store', () => {
    const m = /store (\d+)/.exec(out);
    return m ? Number(m[1]) : undefined;
  });
  return { process: owner, store };
}
