import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { createClickHouse, type ClickHouseClient } from './client.ts';
import { exchangeFixture } from './fixtures.ts';
import { migrate } from './migrations.ts';
import { ZodError } from 'zod';
import { aggregate, decodeCursor, encodeCursor, getRequest, listFiltersSchema, listRequests } from './query.ts';
import { createEventWriter } from './writer.ts';

let dir: string;
let client: ClickHouseClient;
const T0 = Date.UTC(2026, 0, 15, 12, 0, 0);

/** 30 calls, one a second from T0+1s: every 5th an upstream 500 from anthropic, every 3rd unpriced. */
function fixture(n: number) {
  const x = exchangeFixture(n, T0);
  if (n % 5 === 0) {
    x.route = { provider: 'anthropic', model: 'claude-sonnet-4' };
    x.request.model = 'claude-sonnet-4';
    x.response.status = 500;
    x.outcome = 'upstream_error';
    x.error = { type: 'server_error', message: 'overloaded' };
  }
  if (n % 3 === 0) x.costUsd = null;
  if (n === 7) x.response.body = 'The Needle is here';
  if (n === 8) x.response.body = 'Une école à Paris';
  // bodies as clients send them: Python's json.dumps escapes beyond ASCII; every encoder escapes " \\ and newlines
  if (n === 11) x.request.raw = '{"model": "gpt-4o-mini", "messages": [{"role": "user", "content": "Cr\\u00e8me br\\u00fbl\\u00e9e please"}]}';
  if (n === 12) x.request.raw = JSON.stringify({ messages: [{ role: 'user', content: 'she said "hello world" then\nnewline in C:\\temp' }] });
  if (n === 13) x.request.raw = '{"messages": [{"role": "user", "content": "\\u00c9T\\u00c9 CHAUD"}]}';
  return x;
}

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'watchllm-query-'));
  client = createClickHouse({ dataDir: dir });
  await migrate(client);
  const writer = createEventWriter({ client, dataDir: dir });
  for (let n = 1; n <= 30; n++) writer.record(fixture(n));
  await writer.close();
});

afterAll(async () => {
  await client.close();
  rmSync(dir, { recursive: true, force: true });
});

async function ids(input: object): Promise<string[]> {
  const page = await listRequests(client, listFiltersSchema.parse(input));
  return page.rows.map((r) => r.request_id);
}

const id = (n: number) => `req_${String(n).padStart(6, '0')}`;
const range = (a: number, b: number) => Array.from({ length: b - a + 1 }, (_, i) => id(b - i));

describe('listRequests', () => {
  test.each([
    ['no filter: newest first', {}, range(1, 30)],
    ['time range [from, to)', { from: new Date(T0 + 3000).toISOString(), to: T0 + 6000 }, range(3, 5)],
    ['model', { model: 'claude-sonnet-4' }, [30, 25, 20, 15, 10, 5].map(id)],
    ['provider and status', { provider: 'anthropic', status_code: '500', from: T0 + 21_000 }, [30, 25].map(id)],
    ['outcome', { outcome: 'upstream_error', to: T0 + 11_000 }, [10, 5].map(id)],
    ['user', { user: 'user_0', to: T0 + 10_000 }, [9, 6, 3].map(id)],
    ['property name=value (all must match)', { property: ['env=prod', 'env=prod'], to: T0 + 7000 }, [6, 4, 2].map(id)],
    ['full text over bodies, any case', { q: 'needle' }, [id(7)]],
    ['full text, any case beyond ASCII', { q: 'ÉCOLE À' }, [id(8)]],
    ['full text, as written', { q: 'école' }, [id(8)]],
    ['full text, JSON-escaped beyond ASCII (Python json.dumps)', { q: 'crème' }, [id(11)]],
    ['full text, JSON-escaped, in another case', { q: 'CRÈME BRÛLÉE' }, [id(11)]],
    ['full text, JSON-escaped capitals', { q: 'été' }, [id(13)]],
    ['full text with quotes', { q: 'said "hello world"' }, [id(12)]],
    ['full text across a newline', { q: 'then\nnewline' }, [id(12)]],
    ['full text with a backslash', { q: 'C:\\temp' }, [id(12)]],
    // recorded from header names, which arrive lowercased
    ['property name in any case', { property: ['ENV=prod'], to: T0 + 7000 }, [6, 4, 2].map(id)],
    ['key and session', { key_id: 'key_1', session: 'sess_1', limit: '2' }, range(29, 30)],
    ['nothing matches', { key_id: 'key_other' }, []],
  ] as const)('filters by %s', async (_title, input, expected) => {
    expect(await ids({ limit: 200, ...input })).toEqual(expected);
  });

  test('an ISO time without an offset is UTC, whatever the time zone of the server', async () => {
    const tz = process.env['TZ'];
    process.env['TZ'] = 'Asia/Kolkata'; // UTC+5:30: read as local time, the range would miss every call
    try {
      expect(await ids({ from: '2026-01-15T12:00:03', to: '2026-01-15T12:00:06.000', limit: 200 })).toEqual(range(3, 5));
    } finally {
      if (tz === undefined) delete process.env['TZ'];
      else process.env['TZ'] = tz;
    }
  });

  test('cursor pagination walks every row once, in order, and ends with a null cursor', async () => {
    const seen: string[] = [];
    let cursor: string | null = null;
    let pages = 0;
    do {
      const page = await listRequests(client, listFiltersSchema.parse({ limit: 7 }), cursor);
      seen.push(...page.rows.map((r) => r.request_id));
      cursor = page.nextCursor;
      pages++;
    } while (cursor);
    expect(pages).toBe(5);
    expect(seen).toEqual(range(1, 30));
  });

  test('listed rows carry the summary columns but not the bodies', async () => {
    const { rows } = await listRequests(client, listFiltersSchema.parse({ limit: 1 }));
    expect(rows[0]).toMatchObject({ request_id: id(30), status_code: 500, model: 'claude-sonnet-4', cost_usd: null, priced: false });
    expect(rows[0]).not.toHaveProperty('request_body');
  });

  test('a cursor not made by the API is rejected', async () => {
    await expect(listRequests(client, listFiltersSchema.parse({}), 'bm90LWEtY3Vyc29y')).rejects.toThrow();
  });

  test('a cursor names a real row time: the shape alone is not enough', () => {
    expect(decodeCursor(encodeCursor('2026-01-15 12:00:01.000', 'req_1'))).toEqual({ ts: '2026-01-15 12:00:01.000', id: 'req_1' });
    for (const ts of ['9999-99-99 99:99:99', '0000-00-00 00:00:00', '2026-02-30 00:00:00.000', '2026-01-01 24:00:00', '2300-01-01 00:00:00', '2026-01-01 00:00:00.1234']) {
      expect(() => decodeCursor(encodeCursor(ts, 'req_1')), ts).toThrow(ZodError);
    }
  });

  test.each([
    [{ limit: '201' }, 'limit'],
    [{ from: 'yesterday' }, 'from'],
    [{ property: ['no-equals-sign'] }, 'property'],
    [{ status_code: '' }, 'status_code'],
    [{ status_code: '0x1F4' }, 'status_code'],
    [{ limit: '1e2' }, 'limit'],
    [{ from: '' }, 'from'],
  ] as const)('rejects bad filter %j at %s', (input, path) => {
    const r = listFiltersSchema.safeParse(input);
    expect(r.success).toBe(false);
    expect(r.error?.issues[0]?.path[0]).toBe(path);
  });

  test('rejects a filter it does not know, naming it and the ones it takes', () => {
    const r = listFiltersSchema.safeParse({ endpoint: 'chat', model: 'x' });
    expect(r.error?.issues[0]).toMatchObject({ code: 'unrecognized_keys', keys: ['endpoint'] });
    expect(r.error?.issues[0]?.message).toMatch(/^unknown parameter endpoint; \/admin\/requests takes from, to, project, .*, cursor$/);
  });
});

describe('getRequest', () => {
  test('returns the full row with bodies', async () => {
    const row = await getRequest(client, id(7));
    expect(row).toMatchObject({ request_id: id(7), response_body: 'The Needle is here', prompt_tokens: 17, completion_tokens: 14 });
  });

  test('returns null for an unknown id', async () => {
    expect(await getRequest(client, 'req_nope')).toBeNull();
  });
});

describe('aggregate', () => {
  test('sums requests, errors, tokens and known cost per bucket and group from the rollup', async () => {
    const points = await aggregate(client, { from: T0, to: T0 + 3_600_000, bucket: '1h', groupBy: 'provider' });
    expect(points.map((p) => [p.bucket, p.group, p.requests, p.errors])).toEqual([
      ['2026-01-15 12:00:00', 'anthropic', 6, 6],
      ['2026-01-15 12:00:00', 'openai', 24, 0],
    ]);
    const openai = points[1];
    const ns = Array.from({ length: 30 }, (_, i) => i + 1).filter((n) => n % 5 !== 0);
    expect(openai?.prompt_tokens).toBe(ns.reduce((s, n) => s + 10 + n, 0));
    const priced = ns.filter((n) => n % 3 !== 0);
    expect(openai?.cost_usd).toBeCloseTo(priced.reduce((s, n) => s + (10 + n) * 1e-6 + 2 * n * 4e-6, 0), 12);
    expect(openai?.unpriced).toBe(ns.length - priced.length);
    expect(openai?.p50_ms).toBe(101);
  });

  test('a range with mid-minute edges counts the minutes it touches whole, at both ends', async () => {
    // every call is in the minute 12:00 (T0+1s .. T0+30s)
    const minute = async (from: number, to: number) => (await aggregate(client, { from, to, bucket: '1m' })).map((p) => [p.bucket, p.requests]);
    expect(await minute(T0 + 15_000, T0 + 120_000)).toEqual([['2026-01-15 12:00:00', 30]]);
    expect(await minute(T0 - 60_000, T0 + 15_000)).toEqual([['2026-01-15 12:00:00', 30]]);
    // on minute boundaries: [from, to) as /admin/requests
    expect(await minute(T0 + 60_000, T0 + 120_000)).toEqual([]);
  });

  test('minute buckets split the series; an empty range has no points', async () => {
    const points = await aggregate(client, { from: T0, to: T0 + 120_000, bucket: '1m' });
    expect(points.map((p) => [p.bucket, p.requests])).toEqual([['2026-01-15 12:00:00', 30]]);
    expect(await aggregate(client, { from: T0 - 60_000, to: T0, bucket: '1m' })).toEqual([]);
  });
});
