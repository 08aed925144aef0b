import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { createClickHouse, insertRows, type ClickHouseClient } from './client.ts';
import { exchangeFixture } from './fixtures.ts';
import { migrate } from './migrations.ts';
import { decodeRequestRows, encodeRequestRowBinary, RowBinaryEncoder, rowBinaryToLines } from './row-binary.ts';
import { encodeRequestRow, REQUEST_COLUMNS, toRow, type RequestRow } from './row.ts';

const opts = { storeBodies: true, maxBodyBytes: 32 * 1024 };

/** Rows that reach every kind of value: nulls, maps, arrays, text in and out of ASCII, short and long. */
function variedRows(): Array<{ row: RequestRow; ts: number }> {
  const out: Array<{ row: RequestRow; ts: number }> = [];
  const plain = exchangeFixture(1);
  out.push({ row: toRow(plain, opts), ts: plain.ts });

  const rich = exchangeFixture(2);
  rich.meta.properties = { env: 'prod', 'équipe': 'données', emoji: '🚀 launch', empty: '' };
  rich.meta.user = 'Zoë';
  // non-ASCII text whose length's LEB128 is shorter than its bound's (three bytes per unit)
  rich.meta.session = `é${'a'.repeat(50)}`;
  rich.request.raw = JSON.stringify({ model: 'gpt-4o-mini', messages: [{ role: 'user', content: `résumé ${'ü'.repeat(300)} 🙂 "quoted"\n\ttab` }] });
  rich.response.body = 'x'.repeat(200_000); // over the cap: cut and marked
  rich.attempts = [
    { model: 'anthropic/claude-3-5-haiku', result: 'retried', provider: 'anthropic', why: 'HTTP 529 overloaded_error', waitMs: 250 },
    { model: 'openai/gpt-4o', result: 'failed', provider: 'openai', why: 'upstream_unreachable' },
  ];
  rich.cache = { status: 'hit', savedUsd: 0.0125 };
  out.push({ row: toRow(rich, opts), ts: rich.ts });

  const failed = exchangeFixture(3);
  failed.response.usage = null;
  failed.costUsd = null;
  failed.unmetered = true;
  failed.response.status = 502;
  failed.response.firstByteAt = null;
  failed.upstream = { status: 502, sentAt: 1001, headersAt: null, endedAt: null };
  failed.error = { type: 'upstream_error', message: 'bad gateway ' + 'é'.repeat(127) };
  failed.outcome = 'upstream_error';
  failed.response.body = `<html>${'b'.repeat(6000)}</html>`; // the same for a long one: 3 bytes of bound, 2 of length
  out.push({ row: toRow(failed, opts), ts: failed.ts });

  // a time before 1970 (negative milliseconds) and the last millisecond of a second
  const old = exchangeFixture(4, Date.UTC(1969, 11, 31, 23, 59, 59) + 999 - 4000);
  out.push({ row: toRow(old, opts), ts: old.ts });
  return out;
}

function encodeAll(rows: Array<{ row: RequestRow; ts: number }>): Buffer {
  const enc = new RowBinaryEncoder(64); // small, so that writing grows it
  for (const { row, ts } of rows) encodeRequestRowBinary(row, ts, enc);
  return Buffer.from(enc.buffer.subarray(0, enc.length));
}

describe('request rows in RowBinary', () => {
  test('decoding gives back every value of every row', () => {
    const rows = variedRows();
    expect(decodeRequestRows(encodeAll(rows))).toEqual(rows.map((r) => r.row));
  });

  test('a lone UTF-16 surrogate is written as U+FFFD, like the JSON lines do', () => {
    const x = exchangeFixture(5);
    x.meta.user = 'a\ud800b';
    x.request.raw = `{"content":"${'long '.repeat(40)}\udfff"}`;
    const [row] = decodeRequestRows(encodeAll([{ row: toRow(x, opts), ts: x.ts }]));
    expect(row?.user).toBe('a\ufffdb');
    expect(row?.request_body.endsWith('\ufffd"}')).toBe(true);
    expect(JSON.parse(encodeRequestRow(toRow(x, opts)))[REQUEST_COLUMNS.indexOf('user')]).toBe('a\ufffdb');
  });

  test('a batch turned into spool lines holds the JSON lines the rows encode to', () => {
    const rows = variedRows();
    const lines = rowBinaryToLines(encodeAll(rows)).toString('utf8');
    expect(lines).toBe(rows.map(({ row }) => `${encodeRequestRow(row)}\n`).join(''));
    expect(rowBinaryToLines(Buffer.alloc(0)).length).toBe(0);
  });

  test('a batch cut short is refused, not read as other values', () => {
    const body = encodeAll(variedRows().slice(0, 1));
    expect(() => decodeRequestRows(body.subarray(0, body.length - 3))).toThrow(/cut short/);
  });
});

describe('RowBinary rows in ClickHouse (chDB)', () => {
  let dir: string;
  let client: ClickHouseClient;
  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'watchllm-rowbinary-'));
    client = createClickHouse({ dataDir: dir });
    await migrate(client);
    await client.command({ query: 'CREATE TABLE watchllm.requests_json AS watchllm.requests' });
  }, 60_000);
  afterAll(async () => {
    await client.close();
    rmSync(dir, { recursive: true, force: true });
  });

  test('store the same values as the same rows sent as JSON lines, column by column', async () => {
    const rows = variedRows();
    await insertRows(client, { table: 'watchllm.requests', format: 'RowBinary', columns: REQUEST_COLUMNS, body: encodeAll(rows), settings: {} });
    const json = Buffer.from(rows.map(({ row }) => `${encodeRequestRow(row)}\n`).join(''));
    await insertRows(client, { table: 'watchllm.requests_json', format: 'JSONCompactEachRow', columns: REQUEST_COLUMNS, body: json, settings: {} });
    const read = async (table: string) =>
      (await client.query({ query: `SELECT * FROM watchllm.${table} ORDER BY request_id`, format: 'JSONEachRow' })).json<Record<string, unknown>>();
    const binary = await read('requests');
    expect(binary).toHaveLength(rows.length);
    expect(binary).toEqual(await read('requests_json'));
    // and they are the rows' values (a column written in the wrong place would not be)
    const first = binary[1]!;
    expect(first.request_id).toBe(rows[1]!.row.request_id);
    expect(first.ts).toBe(rows[1]!.row.ts);
    expect(first.properties).toEqual(rows[1]!.row.properties);
    expect(first.attempts).toEqual(rows[1]!.row.attempts);
    expect(first.cost_saved_usd).toBe(0.0125);
    expect(first.request_body).toBe(rows[1]!.row.request_body);
    expect(binary[2]!.cost_usd).toBeNull();
    expect(binary[3]!.ts).toBe('1969-12-31 23:59:59.999');
  }, 60_000);
});
