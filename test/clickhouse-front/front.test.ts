import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { createClickHouse, insertRows, type ClickHouseClient } from '../../gateway/src/events/client.ts';
import { exchangeFixture } from '../../gateway/src/events/fixtures.ts';
import { migrate } from '../../gateway/src/events/migrations.ts';
import { encodeRequestRowBinary, RowBinaryEncoder } from '../../gateway/src/events/row-binary.ts';
import { getRequest, listFiltersSchema, listRequests } from '../../gateway/src/events/query.ts';
import { createEventWriter } from '../../gateway/src/events/writer.ts';
import { startClickHouseFront, type ClickHouseFront } from './index.ts';

let dir: string;
let front: ClickHouseFront;
let client: ClickHouseClient;
const quiet = { warn() {}, error() {} };

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'watchllm-front-'));
  front = await startClickHouseFront({ dataDir: join(dir, 'front') });
  client = createClickHouse({ url: front.url, dataDir: dir });
  await migrate(client);
}, 30_000);

afterAll(async () => {
  await client?.close();
  await front?.stop();
  rmSync(dir, { recursive: true, force: true });
});

async function countById(): Promise<Record<string, number>> {
  const rs = await client.query({
    query: 'SELECT request_id, count() AS n FROM watchllm.requests GROUP BY request_id ORDER BY request_id',
    format: 'JSONEachRow',
  });
  return Object.fromEntries((await rs.json<{ request_id: string; n: number }>()).map((r) => [r.request_id, r.n]));
}

describe('clickhouse front, through @clickhouse/client in URL mode', () => {
  test('answers ping', async () => {
    expect(await client.ping()).toEqual({ success: true });
  });

  test('binds typed parameters, strings with quotes, tabs and newlines intact', async () => {
    const rs = await client.query({
      query: 'SELECT {s:String} AS s, {n:UInt32} + 1 AS n, {t:DateTime64(3)} AS t',
      query_params: { s: "it's\ta\nline\\", n: 41, t: '2026-01-15 12:00:00.123' },
      format: 'JSONEachRow',
    });
    expect(await rs.json()).toEqual([{ s: "it's\ta\nline\\", n: 42, t: '2026-01-15 12:00:00.123' }]);
  });

  test('a second migrate through the server is a no-op', async () => {
    expect(await migrate(client)).toEqual([]);
  });

  test('an insert repeated with the same deduplication token is stored once; settings do not leak', async () => {
    const { toRow } = await import('../../gateway/src/events/row.ts');
    const values = [toRow(exchangeFixture(900), { storeBodies: true })];
    for (let i = 0; i < 2; i++) {
      await client.insert({ table: 'watchllm.requests', values, format: 'JSONEachRow', clickhouse_settings: { insert_deduplication_token: 'same' } });
    }
    const rs = await client.query({ query: "SELECT getSetting('insert_deduplication_token') AS t", format: 'JSONEachRow' });
    expect(await rs.json()).toEqual([{ t: '' }]);
    expect((await countById()).req_000900).toBe(1);
    await client.command({ query: "ALTER TABLE watchllm.requests DELETE WHERE request_id = 'req_000900'", clickhouse_settings: { mutations_sync: '1' } });
  });

  test('a RowBinary insert keeps its bytes: text in and out of ASCII, numbers and nulls as sent', async () => {
    const { toRow, REQUEST_COLUMNS } = await import('../../gateway/src/events/row.ts');
    const x = exchangeFixture(901);
    x.meta.user = 'Zoë 🚀';
    x.costUsd = null;
    x.response.usage = { promptTokens: 70_000, completionTokens: 1, cachedTokens: 0, cacheWriteTokens: 0, reasoningTokens: 0 };
    const enc = new RowBinaryEncoder();
    encodeRequestRowBinary(toRow(x, { storeBodies: true }), x.ts, enc);
    await insertRows(client, { table: 'watchllm.requests', format: 'RowBinary', columns: REQUEST_COLUMNS, body: Buffer.from(enc.buffer.subarray(0, enc.length)), settings: {} });
    const rs = await client.query({ query: "SELECT user, prompt_tokens, cost_usd, ts FROM watchllm.requests WHERE request_id = 'req_000901'", format: 'JSONEachRow' });
    expect(await rs.json()).toEqual([{ user: 'Zoë 🚀', prompt_tokens: 70_000, cost_usd: null, ts: toRow(x, { storeBodies: true }).ts }]);
    await client.command({ query: "ALTER TABLE watchllm.requests DELETE WHERE request_id = 'req_000901'", clickhouse_settings: { mutations_sync: '1' } });
  });

  test('a server error becomes a ClickHouseError with its code', async () => {
    await expect(client.query({ query: 'SELECT * FROM watchllm.nope' })).rejects.toMatchObject({ code: '60', type: 'UNKNOWN_TABLE' });
  });

  test('an outage with a gateway restart in the middle loses nothing and stores nothing twice', async () => {
    const spoolDir = join(dir, 'gw');
    const w1 = createEventWriter({ client, dataDir: spoolDir, batchSize: 5, retryDelayMs: 1, logger: quiet });
    for (let n = 1; n <= 10; n++) w1.record(exchangeFixture(n));
    await w1.flush();
    expect(w1.stats()).toMatchObject({ inserted: 10, spooledRows: 0 });

    await front.stop();
   
    for (let n = 11; n <= 20; n++) w1.record(exchangeFixture(n));
    await w1.close(); // SIGTERM during the outage: what is left goes to the spool
    expect(w1.stats()).toMatchObject({ queued: 0, spooledRows: 10, dropped: 0 });

    // the gateway restarts while ClickHouse is still down, and takes more calls
    const w2 = createEventWriter({ client, dataDir: spoolDir, batchSize: 5, retryDelayMs: 1, logger: quiet });
    for (let n = 21; n <= 25; n++) w2.record(exchangeFixture(n));
    await w2.flush();
    expect(w2.stats()).toMatchObject({ spooledRows: 15, inserted: 0 });

    await front.start();
    for (let n = 26; n <= 30; n++) w2.record(exchangeFixture(n));
    await w2.flush(); // replays: a closing writer does not (the next start would)
    await w2.close();
    expect(w2.stats()).toMatchObject({ queued: 0, spooledRows: 0, inserted: 20, dropped: 0 });

    const counts = await countById();
    expect(Object.keys(counts)).toHaveLength(30);
    expect(Object.values(counts).every((n) => n === 1)).toBe(true);
  }, 30_000);

  test('the query API works the same against the server', async () => {
    const page = await listRequests(client, listFiltersSchema.parse({ limit: 3, property: ['env=prod'] }));
    expect(page.rows.map((r) => r.request_id)).toEqual(['req_000030', 'req_000028', 'req_000026']);
    expect(page.nextCursor).not.toBeNull();
    const next = await listRequests(client, listFiltersSchema.parse({ limit: 3, property: ['env=prod'] }), page.nextCursor);
    expect(next.rows.map((r) => r.request_id)).toEqual(['req_000024', 'req_000022', 'req_000020']);
    expect(await getRequest(client, 'req_000030')).toMatchObject({ prompt_tokens: 40, completion_tokens: 60, user: 'user_0' });
  });

  test('full-text search sends its forms of the text as an array parameter, quotes and backslashes intact', async () => {
    const page = await listRequests(client, listFiltersSchema.parse({ q: '"hello 7"' }));
    expect(page.rows.map((r) => r.request_id)).toEqual(['req_000007']);
    const none = await listRequests(client, listFiltersSchema.parse({ q: `l'été \\ "x"\n` }));
    expect(none.rows).toEqual([]);
  });
});
