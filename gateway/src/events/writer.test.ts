import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Registry } from 'prom-client';
import { afterAll, beforeAll, beforeEach, describe, expect, test } from 'vitest';
import type { Readable } from 'node:stream';
import { createClickHouse, insertRows, type ClickHouseClient } from './client.ts';
import { exchangeFixture } from './fixtures.ts';
import { migrate } from './migrations.ts';
import { encodeRequestRowBinary, RowBinaryEncoder } from './row-binary.ts';
import { encodeRequestRow, REQUEST_COLUMNS, toRow } from './row.ts';
import { Spool } from './spool.ts';
import { createEventWriter, registerWriterMetrics, type WriterLogger } from './writer.ts';

// One chDB folder for this file (vitest runs each file in its own process; chDB binds one folder
// per process). Each test truncates the tables and uses its own spool folder.
let chDir: string;
let client: ClickHouseClient;
const dirs: string[] = [];

/** Rows as one NDJSON batch, the way the spool keeps them. */
const ndjson = (values: readonly unknown[]): Buffer => Buffer.from(values.map((v) => `${JSON.stringify(v)}\n`).join(''));

function tempDir(): string {
  const d = mkdtempSync(join(tmpdir(), 'watchllm-writer-'));
  dirs.push(d);
  return d;
}

async function closedPortUrl(): Promise<string> {
  const srv = createServer();
  await new Promise<void>((r) => srv.listen(0, '127.0.0.1', r));
  const { port } = srv.address() as { port: number };
  await new Promise<void>((r) => srv.close(() => r()));
  return `http://default:@127.0.0.1:${port}/watchllm`;
}

/** A ClickHouse host that takes connections and never answers (a network partition). */
async function blackhole(): Promise<{ url: string; close(): Promise<void> }> {
  const sockets = new Set<Socket>();
  const srv = createServer((s) => void sockets.add(s));
  await new Promise<void>((r) => srv.listen(0, '127.0.0.1', r));
  const { port } = srv.address() as { port: number };
  return {
    url: `http://default:@127.0.0.1:${port}/watchllm`,
    close: async () => {
      for (const s of sockets) s.destroy();
      await new Promise<void>((r) => srv.close(() => r()));
    },
  };
}

/** A logger that keeps what it was told, by level. */
function recording() {
  const said = { info: [] as string[], warn: [] as string[], error: [] as string[] };
  return {
    said,
    info: (_f: unknown, m: string) => void said.info.push(m),
    warn: (_f: unknown, m: string) => void said.warn.push(m),
    error: (_f: unknown, m: string) => void said.error.push(m),
  };
}

async function rollupRequests(): Promise<number> {
  const rs = await client.query({ query: 'SELECT sum(requests) AS n FROM watchllm.requests_1m', format: 'JSONEachRow' });
  return (await rs.json<{ n: number }>())[0]?.n ?? 0;
}

const quiet: WriterLogger & { errors: string[] } = {
  errors: [],
  warn() {},
  error(_fields: unknown, msg: string) {
    quiet.errors.push(msg);
  },
};

const BINARY_INSERT = /^INSERT INTO (\S+) \(([^)]*)\) FORMAT RowBinary$/;

/**
 * `client.exec` as a server answers it: the wrappers below make the writer see a server (inserts
 * through `exec`), and chDB's inline exec cannot carry a binary body, so a RowBinary insert goes in
 * through the embedded batch path, the bytes as they came.
 */
async function execAsServer(params: Parameters<ClickHouseClient['exec']>[0]): ReturnType<ClickHouseClient['exec']> {
  const m = BINARY_INSERT.exec(params.query);
  if (!m || !('values' in params)) return client.exec(params);
  const body = Buffer.concat(await (params.values as Readable).toArray());
  const settings = (params.clickhouse_settings ?? {}) as Record<string, string | number>;
  await insertRows(client, { table: m[1]!, columns: m[2]!.split(', '), format: 'RowBinary', body, settings });
  // an empty answer, for the writer to read as it reads a server's
  return client.exec({ query: 'SELECT 1 WHERE 0' });
}

/** The test's client, as if over a network that can be cut: while `down`, inserts are refused. */
function switchable(down: boolean): ClickHouseClient & { down: boolean } {
  const c = Object.create(client) as ClickHouseClient & { down: boolean };
  c.down = down;
  c.exec = (async (params: Parameters<ClickHouseClient['exec']>[0]) => {
    if (c.down) throw Object.assign(new Error('connect ECONNREFUSED 127.0.0.1:8123'), { code: 'ECONNREFUSED' });
    return execAsServer(params);
  }) as ClickHouseClient['exec'];
  return c;
}

async function rows(): Promise<{ request_id: string; n: number; prompt_tokens: number; completion_tokens: number; cost_usd: number | null }[]> {
  const rs = await client.query({
    query: `SELECT request_id, count() AS n, any(prompt_tokens) AS prompt_tokens,
              any(completion_tokens) AS completion_tokens, any(cost_usd) AS cost_usd
            FROM watchllm.requests GROUP BY request_id ORDER BY request_id`,
    format: 'JSONEachRow',
  });
  return rs.json();
}

beforeAll(async () => {
  chDir = tempDir();
  client = createClickHouse({ dataDir: chDir });
  await migrate(client);
});

beforeEach(async () => {
  quiet.errors.length = 0;
  await client.command({ query: 'TRUNCATE TABLE watchllm.requests' });
  await client.command({ query: 'TRUNCATE TABLE watchllm.requests_1m' });
});

afterAll(async () => {
  await client.close();
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
});

describe('createEventWriter', () => {
  test('N recorded exchanges become exactly N rows with their tokens and cost', async () => {
    const writer = createEventWriter({ client, dataDir: tempDir(), batchSize: 7, logger: quiet });
    for (let i = 1; i <= 20; i++) writer.record(exchangeFixture(i));
    await writer.close();
    const got = await rows();
    expect(got).toHaveLength(20);
    for (const [i, r] of got.entries()) {
      const n = i + 1;
      expect(r).toMatchObject({ n: 1, prompt_tokens: 10 + n, completion_tokens: 2 * n });
      expect(r.cost_usd).toBeCloseTo((10 + n) * 1e-6 + 2 * n * 4e-6, 12);
    }
    expect(writer.stats()).toEqual({ queued: 0, spooledRows: 0, inserted: 20, failed: 0, dropped: 0 });
  });

  test('the minute rollup counts each row once', async () => {
    const writer = createEventWriter({ client, dataDir: tempDir(), logger: quiet });
    for (let i = 1; i <= 5; i++) writer.record(exchangeFixture(i));
    await writer.close();
    const rs = await client.query({
      query: 'SELECT sum(requests) AS requests, sum(prompt_tokens) AS prompt FROM watchllm.requests_1m',
      format: 'JSONEachRow',
    });
    expect(await rs.json()).toEqual([{ requests: 5, prompt: 11 + 12 + 13 + 14 + 15 }]);
  });

  test('with ClickHouse unreachable it spools; a new writer replays every row exactly once', async () => {
    const dataDir = tempDir();
    const down = createClickHouse({ url: await closedPortUrl(), dataDir });
    const first = createEventWriter({ client: down, dataDir, batchSize: 4, retryDelayMs: 1, logger: quiet });
    for (let i = 1; i <= 10; i++) first.record(exchangeFixture(i));
    await first.close();
    await down.close();
    expect(first.stats()).toMatchObject({ queued: 0, spooledRows: 10, inserted: 0, failed: 4, dropped: 0 });
    const files = readdirSync(join(dataDir, 'spool')).filter((f) => f.endsWith('.ndjson')).sort();
    expect(files).toHaveLength(3);
    // queued as RowBinary, spooled as the rows' JSON lines: readable, and what older versions replay
    const spooled = files.map((f) => readFileSync(join(dataDir, 'spool', f), 'utf8')).join('');
    expect(spooled).toBe(Array.from({ length: 10 }, (_, i) => `${encodeRequestRow(toRow(exchangeFixture(i + 1), { storeBodies: true }))}\n`).join(''));

    // the restarted gateway: same data dir, ClickHouse back
    const second = createEventWriter({ client, dataDir, retryDelayMs: 1, logger: quiet });
    expect(second.stats().spooledRows).toBe(10);
    second.record(exchangeFixture(11));
    await second.close();
    const got = await rows();
    expect(got.map((r) => r.request_id)).toEqual(Array.from({ length: 11 }, (_, i) => exchangeFixture(i + 1).id));
    expect(got.every((r) => r.n === 1)).toBe(true);
    expect(second.stats()).toMatchObject({ spooledRows: 0, inserted: 11, dropped: 0 });
  });

  test('a replayed batch that had already landed is not stored twice (dedup token)', async () => {
    const dataDir = tempDir();
    const values = [1, 2, 3].map((i) => toRow(exchangeFixture(i), { storeBodies: true }));
    // The insert landed but its acknowledgement was lost, so the same batch id was also spooled
    // (as objects, the form an older version spooled: replay reads both forms).
    const token = 'batch-landed-and-spooled';
    await client.insert({
      table: 'watchllm.requests',
      values,
      format: 'JSONEachRow',
      clickhouse_settings: { insert_deduplication_token: token },
    });
    await new Spool(join(dataDir, 'spool'), 1 << 20).write('requests', token, ndjson(values), values.length);
    const writer = createEventWriter({ client, dataDir, logger: quiet });
    await writer.close();
    expect((await rows()).map((r) => [r.request_id, r.n])).toEqual([
      ['req_000001', 1],
      ['req_000002', 1],
      ['req_000003', 1],
    ]);
    expect(writer.stats()).toMatchObject({ spooledRows: 0, inserted: 3, dropped: 0 });
  });

  test('a replay of a batch that already landed is not counted again in the minute rollup', async () => {
    // The batch went in but its acknowledgement was lost (a proxy that drops the answer), so it
    // was spooled and is replayed, here by two writers, with its one token.
    const lines = ndjson([1, 2, 3].map((i) => JSON.parse(encodeRequestRow(toRow(exchangeFixture(i), { storeBodies: true })))));
    for (const dataDir of [tempDir(), tempDir()]) {
      await new Spool(join(dataDir, 'spool'), 1 << 20).write('requests', 'landed-token', lines, 3);
      await createEventWriter({ client, dataDir, logger: quiet }).close();
    }
    expect((await rows()).map((r) => [r.request_id, r.n])).toEqual([1, 2, 3].map((i) => [exchangeFixture(i).id, 1]));
    expect(await rollupRequests()).toBe(3);
  });

  test('a spooled batch whose first line was cut short (a power cut) is salvaged, not retried forever', async () => {
    const dataDir = tempDir();
    const good = [1, 2, 3].map((i) => encodeRequestRow(toRow(exchangeFixture(i), { storeBodies: true })));
    mkdirSync(join(dataDir, 'spool', 'rejected'), { recursive: true });
    // named for 4 rows as written; the disk kept 3 lines, the first of them cut
    writeFileSync(join(dataDir, 'spool', '001700000000000-000000.requests.4.cut.ndjson'), `${good[0]!.slice(0, 50)}\n${good[1]}\n${good[2]}\n`);
    writeFileSync(join(dataDir, 'spool', '001700000000001-000000.requests.1.next.ndjson'), `${encodeRequestRow(toRow(exchangeFixture(9), { storeBodies: true }))}\n`);
    const log = recording();
    const registry = new Registry();
    const writer = createEventWriter({ client, dataDir, retryDelayMs: 1, logger: log });
    registerWriterMetrics(registry, writer);
    await writer.close();
    expect((await rows()).map((r) => r.request_id)).toEqual([2, 3, 9].map((i) => exchangeFixture(i).id));
    const rejected = readdirSync(join(dataDir, 'spool', 'rejected'));
    expect(rejected).toEqual(['001700000000000-000000.requests.4.cut.ndjson']);
    expect(readFileSync(join(dataDir, 'spool', 'rejected', rejected[0]!), 'utf8')).toBe(`${good[0]!.slice(0, 50)}\n`);
    expect(log.said.error).toEqual([expect.stringMatching(/refused rows of a spooled batch/)]);
    // the rows that went in, not the 4 + 1 the file names say
    expect(writer.stats()).toMatchObject({ spooledRows: 0, inserted: 3 });
    expect(await registry.metrics()).toMatch(/^watchllm_events_inserted_total 3$/m);
  });

  test('a replay that keeps failing is said once per outage, and the recovery once', async () => {
    const dataDir = tempDir();
    const a = switchable(true);
    const log = recording();
    const writer = createEventWriter({ client: a, dataDir, batchSize: 2, attempts: 1, retryDelayMs: 1, logger: log });
    for (let i = 1; i <= 4; i++) writer.record(exchangeFixture(i));
    await writer.flush();
    for (let i = 0; i < 5; i++) await writer.flush(); // each forces a replay attempt
    expect(log.said.warn.filter((m) => /cannot replay the event spool/.test(m))).toHaveLength(1);
    a.down = false;
    await writer.flush();
    expect(log.said.info).toEqual([expect.stringMatching(/replaying again/)]);
    a.down = true;
    writer.record(exchangeFixture(5));
    await writer.flush();
    await writer.flush();
    // a new outage is said again
    expect(log.said.warn.filter((m) => /cannot replay the event spool/.test(m))).toHaveLength(2);
    a.down = false;
    await writer.flush(); // (closing, a writer against a server replays nothing: the next start does)
    await writer.close();
    expect((await rows()).map((r) => [r.request_id, r.n])).toEqual([1, 2, 3, 4, 5].map((i) => [exchangeFixture(i).id, 1]));
  });

  test('before the migrations ran, nothing is inserted: rows wait in the spool, then go in', async () => {
    const dataDir = tempDir();
    let inserts = 0;
    const counting = Object.create(client) as ClickHouseClient;
    counting.exec = (async (params: Parameters<ClickHouseClient['exec']>[0]) => {
      inserts++;
      return execAsServer(params);
    }) as ClickHouseClient['exec'];
    let migrated = false;
    const writer = createEventWriter({ client: counting, dataDir, batchSize: 2, retryDelayMs: 1, schemaReady: () => migrated, logger: quiet });
    for (let i = 1; i <= 3; i++) writer.record(exchangeFixture(i));
    await writer.flush();
    expect(inserts).toBe(0);
    expect(writer.stats()).toMatchObject({ queued: 0, spooledRows: 3, inserted: 0, failed: 0, dropped: 0 });
    migrated = true;
    writer.record(exchangeFixture(4));
    await writer.flush();
    await writer.close();
    expect((await rows()).map((r) => [r.request_id, r.n])).toEqual([1, 2, 3, 4].map((i) => [exchangeFixture(i).id, 1]));
    expect(readdirSync(join(dataDir, 'spool', 'rejected'))).toEqual([]);
  });

  test('closing against a ClickHouse that never answers takes closeTimeoutMs, then what is left is spooled', async () => {
    const hole = await blackhole();
    const dataDir = tempDir();
    const silent = createClickHouse({ url: hole.url, dataDir });
    const writer = createEventWriter({ client: silent, dataDir, batchSize: 2, retryDelayMs: 1, closeTimeoutMs: 300, logger: quiet });
    for (let i = 1; i <= 5; i++) writer.record(exchangeFixture(i));
    const flushing = writer.flush(); // its insert waits for an answer (30 s request timeout)
    await new Promise((r) => setTimeout(r, 100));
    const t0 = Date.now();
    await writer.close();
    expect(Date.now() - t0).toBeLessThan(2000);
    await flushing;
    expect(writer.stats()).toMatchObject({ queued: 0, spooledRows: 5, inserted: 0, dropped: 0 });
    await silent.close();
    await hole.close();
    // the next start replays them
    const next = createEventWriter({ client, dataDir, logger: quiet });
    await next.close();
    expect((await rows()).map((r) => [r.request_id, r.n])).toEqual([1, 2, 3, 4, 5].map((i) => [exchangeFixture(i).id, 1]));
  });

  test('a batch spooled by a newer version (more columns) is left for it, not rejected; later batches go in', async () => {
    const dataDir = tempDir();
    const wider = [...(JSON.parse(encodeRequestRow(toRow(exchangeFixture(1), { storeBodies: true }))) as unknown[]), 'a column of the next version'];
    expect(wider).toHaveLength(REQUEST_COLUMNS.length + 1);
    const spool = new Spool(join(dataDir, 'spool'), 1 << 20);
    await spool.write('requests', 'newer-version-batch', ndjson([wider]), 1);
    await spool.write('requests', 'this-version-batch', ndjson([JSON.parse(encodeRequestRow(toRow(exchangeFixture(2), { storeBodies: true })))]), 1);
    const writer = createEventWriter({ client, dataDir, retryDelayMs: 1, logger: quiet });
    writer.record(exchangeFixture(3));
    await writer.close();
    expect((await rows()).map((r) => r.request_id)).toEqual([2, 3].map((i) => exchangeFixture(i).id));
    expect(readdirSync(join(dataDir, 'spool', 'rejected'))).toEqual([]);
    expect(readdirSync(join(dataDir, 'spool')).filter((f) => f.includes('newer-version-batch'))).toHaveLength(1);
    expect(writer.stats()).toMatchObject({ spooledRows: 1, inserted: 2, dropped: 0 });
  });

  test('a batch spooled by a version with fewer columns replays with the columns it has', async () => {
    const dataDir = tempDir();
    // the two newest columns did not exist when this line was spooled
    const old = (JSON.parse(encodeRequestRow(toRow(exchangeFixture(7), { storeBodies: true }))) as unknown[]).slice(0, -2);
    await new Spool(join(dataDir, 'spool'), 1 << 20).write('requests', 'older-version-batch', ndjson([old]), 1);
    const writer = createEventWriter({ client, dataDir, logger: quiet });
    await writer.close();
    expect((await rows()).map((r) => [r.request_id, r.n, r.prompt_tokens])).toEqual([['req_000007', 1, 17]]);
    expect(writer.stats()).toMatchObject({ spooledRows: 0, inserted: 1, failed: 0 });
  });

  test('two gateways on one data dir: a batch the other replayed is forgotten, and later rows go straight in', async () => {
    const dataDir = tempDir();
    const a = switchable(true);
    const first = createEventWriter({ client: a, dataDir, batchSize: 2, retryDelayMs: 1, logger: quiet });
    for (let i = 1; i <= 4; i++) first.record(exchangeFixture(i));
    await first.flush();
    expect(first.stats()).toMatchObject({ spooledRows: 4, inserted: 0 });
    // a second replica starts on the same volume, finds the first one's batches and replays them
    const second = createEventWriter({ client, dataDir, retryDelayMs: 1, logger: quiet });
    await second.close();
    expect(second.stats()).toMatchObject({ spooledRows: 0, inserted: 4 });

    // ClickHouse is back for the first one too: the batches it knew of are gone, not stuck
    a.down = false;
    first.record(exchangeFixture(5));
    await first.close();
    expect((await rows()).map((r) => [r.request_id, r.n])).toEqual([1, 2, 3, 4, 5].map((i) => [exchangeFixture(i).id, 1]));
    expect(first.stats()).toMatchObject({ spooledRows: 0, inserted: 1, dropped: 0 });
    expect(readdirSync(join(dataDir, 'spool')).filter((f) => f !== 'rejected')).toEqual([]);
  });

  test('two gateways on one data dir: batches the other spooled after this one started are replayed on a rescan', async () => {
    const dataDir = tempDir();
    // started first, with nothing spooled; never flushed by hand below
    const first = createEventWriter({ client, dataDir, flushMs: 20, spoolRescanMs: 50, retryDelayMs: 1, logger: quiet });
    const down = createClickHouse({ url: await closedPortUrl(), dataDir });
    const second = createEventWriter({ client: down, dataDir, batchSize: 2, attempts: 1, logger: quiet });
    for (let i = 1; i <= 4; i++) second.record(exchangeFixture(i));
    await second.close(); // spooled, and this replica is gone
    await down.close();
    expect(second.stats()).toMatchObject({ spooledRows: 4, inserted: 0 });
    await expect.poll(() => first.stats().inserted, { timeout: 5000, interval: 20 }).toBe(4);
    await first.close();
    expect((await rows()).map((r) => [r.request_id, r.n])).toEqual([1, 2, 3, 4].map((i) => [exchangeFixture(i).id, 1]));
    expect(first.stats()).toMatchObject({ spooledRows: 0, dropped: 0 });
  });

  test('an exhausted spool budget drops rows, counts them and says so once', async () => {
    const dataDir = tempDir();
    const down = createClickHouse({ url: await closedPortUrl(), dataDir });
    const writer = createEventWriter({
      client: down,
      dataDir,
      batchSize: 2,
      attempts: 1,
      spoolMaxBytes: 3000,
      logger: quiet,
    });
    for (let i = 1; i <= 10; i++) writer.record(exchangeFixture(i));
    await writer.close();
    await down.close();
    const s = writer.stats();
    expect(s.spooledRows + s.dropped).toBe(10);
    expect(s.dropped).toBeGreaterThan(0);
    expect(quiet.errors.filter((e) => e.includes('spool is full'))).toHaveLength(1);
  });

  test('a full queue drops what does not fit and counts it', async () => {
    const writer = createEventWriter({ client, dataDir: tempDir(), maxQueue: 3, batchSize: 100, logger: quiet });
    for (let i = 1; i <= 5; i++) writer.record(exchangeFixture(i));
    expect(writer.stats()).toMatchObject({ queued: 3, dropped: 2 });
    await writer.close();
    expect(writer.stats()).toMatchObject({ queued: 0, inserted: 3, dropped: 2 });
    expect(quiet.errors.filter((e) => e.includes('queue is full'))).toHaveLength(1);
  });

  test('the queue is bounded by size too: rows that do not fit are dropped and counted', async () => {
    const encoded = new RowBinaryEncoder();
    encodeRequestRowBinary(toRow(exchangeFixture(1), { storeBodies: true }), exchangeFixture(1).ts, encoded);
    const row = encoded.length;
    // room for two rows by size, far more by count
    const writer = createEventWriter({ client, dataDir: tempDir(), maxQueueBytes: 2 * row + row / 2, batchSize: 100, logger: quiet });
    for (let i = 1; i <= 4; i++) writer.record(exchangeFixture(i));
    expect(writer.stats()).toMatchObject({ queued: 2, dropped: 2 });
    await writer.close();
    expect((await rows()).map((r) => r.request_id)).toEqual(['req_000001', 'req_000002']);
  });

  test('batches are cut by size: every row still lands once, in order', async () => {
    const writer = createEventWriter({ client, dataDir: tempDir(), batchBytes: 1, batchSize: 100, logger: quiet });
    for (let i = 1; i <= 5; i++) writer.record(exchangeFixture(i));
    await writer.close();
    expect((await rows()).map((r) => [r.request_id, r.n])).toEqual([1, 2, 3, 4, 5].map((i) => [exchangeFixture(i).id, 1]));
    expect(writer.stats()).toMatchObject({ inserted: 5, dropped: 0 });
  });

  test('rows recorded while a batch is being inserted wait for the next flush: steady traffic is not a stream of tiny inserts', async () => {
    let inserts = 0;
    // the same client, counting its inserts; rows 4 and 5 arrive while the first insert runs
    const counting = Object.create(client) as ClickHouseClient;
    counting.exec = (async (params: Parameters<ClickHouseClient['exec']>[0]) => {
      inserts++;
      if (inserts === 1) for (let i = 4; i <= 5; i++) writer.record(exchangeFixture(i));
      return execAsServer(params);
    }) as ClickHouseClient['exec'];
    const writer = createEventWriter({ client: counting, dataDir: tempDir(), flushMs: 60_000, batchSize: 100, logger: quiet });
    for (let i = 1; i <= 3; i++) writer.record(exchangeFixture(i));
    await writer.flush();
    expect(inserts).toBe(1);
    expect(writer.stats()).toMatchObject({ queued: 2, inserted: 3 });
    await writer.close();
    expect(inserts).toBe(2);
    expect((await rows()).map((r) => r.request_id)).toEqual([1, 2, 3, 4, 5].map((i) => exchangeFixture(i).id));
  });

  test('record never throws, even after close; such rows are counted as dropped', async () => {
    const writer = createEventWriter({ client, dataDir: tempDir(), logger: quiet });
    await writer.close();
    expect(() => writer.record(exchangeFixture(1))).not.toThrow();
    expect(writer.stats().dropped).toBe(1);
  });

  test('a batch ClickHouse refuses as bad data is set aside, and later rows still go in', async () => {
    const dataDir = tempDir();
    const writer = createEventWriter({ client, dataDir, retryDelayMs: 1, logger: quiet });
    writer.recordEvents([{ event_id: 'bad', ts: 'not a time' }]);
    await writer.flush();
    writer.record(exchangeFixture(1));
    await writer.close();
    expect(writer.stats()).toMatchObject({ spooledRows: 0, inserted: 1, failed: 1, dropped: 0 });
    expect(readdirSync(join(dataDir, 'spool', 'rejected'))).toHaveLength(1);
    expect((await rows()).map((r) => r.request_id)).toEqual(['req_000001']);
  });

  test('one bad row among good ones: the good rows go in, only the bad one is set aside', async () => {
    const dataDir = tempDir();
    const writer = createEventWriter({ client, dataDir, retryDelayMs: 1, logger: quiet });
    const good = (i: number) => ({ event_id: `salvage-${i}`, ts: '2026-01-15 12:00:00.000', type: 'custom', name: `n${i}` });
    writer.recordEvents([good(1), good(2), { event_id: 'salvage-bad', ts: 'not a time' }, good(3), good(4), good(5)]);
    await writer.flush();
    await writer.close();
    const rs = await client.query({ query: "SELECT event_id FROM watchllm.events WHERE startsWith(event_id, 'salvage-') ORDER BY event_id", format: 'JSONEachRow' });
    expect((await rs.json<{ event_id: string }>()).map((r) => r.event_id)).toEqual(['salvage-1', 'salvage-2', 'salvage-3', 'salvage-4', 'salvage-5']);
    const rejected = readdirSync(join(dataDir, 'spool', 'rejected'));
    expect(rejected).toHaveLength(1);
    expect(readFileSync(join(dataDir, 'spool', 'rejected', rejected[0]!), 'utf8')).toBe('{"event_id":"salvage-bad","ts":"not a time"}\n');
    expect(writer.stats()).toMatchObject({ spooledRows: 0, inserted: 5 });
  });

  test('a lone UTF-16 surrogate from a client is stored as U+FFFD; it never holds back the batch', async () => {
    const dataDir = tempDir();
    const writer = createEventWriter({ client, dataDir, retryDelayMs: 1, logger: quiet });
    const x = exchangeFixture(1);
    x.request.model = 'gpt-\ud800';
    x.meta.properties = { ['team\udc00']: 'a\ud83d' };
    writer.record(x);
    writer.record(exchangeFixture(2));
    writer.recordEvents([{ event_id: 'lone-surrogate', ts: '2026-01-15 12:00:00.000', type: 'custom', name: '\ud800', properties: { ['\udbff']: 'v' } }]);
    await writer.close();
    expect(writer.stats()).toMatchObject({ spooledRows: 0, failed: 0, inserted: 3 });
    expect(readdirSync(join(dataDir, 'spool', 'rejected'))).toEqual([]);
    const rs = await client.query({ query: "SELECT model, properties FROM watchllm.requests WHERE request_id = 'req_000001'", format: 'JSONEachRow' });
    expect(await rs.json()).toEqual([{ model: 'gpt-\ufffd', properties: { ['team\ufffd']: 'a\ufffd' } }]);
    const ev = await client.query({ query: "SELECT name, properties FROM watchllm.events WHERE event_id = 'lone-surrogate'", format: 'JSONEachRow' });
    expect(await ev.json()).toEqual([{ name: '\ufffd', properties: { ['\ufffd']: 'v' } }]);
  });

  test('metrics expose queue depth, spooled rows and the counters', async () => {
    const registry = new Registry();
    const writer = createEventWriter({ client, dataDir: tempDir(), maxQueue: 2, logger: quiet });
    registerWriterMetrics(registry, writer);
    for (let i = 1; i <= 3; i++) writer.record(exchangeFixture(i));
    const before = await registry.metrics();
    expect(before).toMatch(/^watchllm_events_queue_depth 2$/m);
    expect(before).toMatch(/^watchllm_events_dropped_total 1$/m);
    await writer.close();
    const after = await registry.metrics();
    expect(after).toMatch(/^watchllm_events_queue_depth 0$/m);
    expect(after).toMatch(/^watchllm_events_inserted_total 2$/m);
    expect(after).toMatch(/^watchllm_events_spooled_rows 0$/m);
    expect(after).toMatch(/^watchllm_events_failed_total 0$/m);
  });
});
