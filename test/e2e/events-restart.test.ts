import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import OpenAI from 'openai';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { startStack, type Stack } from './harness.ts';
import { requestIdOf, storedRows, type StoredRow } from './events-support.ts';

/**
 * A gateway records calls into embedded chDB and stops; a new gateway opens the same data dir
 * (chDB binds one folder per process: the first is closed before the second opens it). The rows
 * are still there, and the query API answers from them.
 */

const ADMIN = 'admin-token-0123456789abcdef';
const dataDir = mkdtempSync(join(tmpdir(), 'watchllm-events-restart-'));
const env = { WATCHLLM_DATA_DIR: dataDir, WATCHLLM_ADMIN_TOKEN: ADMIN };

interface Call {
  id: string;
  model: string;
  user: string;
  session: string;
  team: string;
  status: number;
  prompt: string;
}
const calls: Call[] = [];
let s: Stack;
let rows: StoredRow[];

/** Calls spread over models, users, sessions and a property; every third one fails upstream. */
const PLAN = Array.from({ length: 12 }, (_, i) => ({
  model: i % 2 === 0 ? 'gpt-4o-mini' : 'gpt-4.1-nano',
  user: i < 4 ? 'bob' : 'carol',
  session: `s-${i % 3}`,
  team: i % 4 === 0 ? 'search' : 'ads',
  fail: i % 3 === 2,
  prompt: `question number${i} please`,
}));

beforeAll(async () => {
  const first = await startStack({ clickhouse: true, env });
  const openai = new OpenAI({ baseURL: `${first.url}/v1`, apiKey: 'sk-restart-test', maxRetries: 0 });
  for (const p of PLAN) {
    if (p.fail) first.fake.next({ status: 500, errorMessage: 'boom' });
    const headers = { 'x-watchllm-user': p.user, 'x-watchllm-session': p.session, 'x-watchllm-property-team': p.team };
    let id: string;
    let status = 200;
    try {
      const { response } = await openai.chat.completions.create({ model: p.model, messages: [{ role: 'user', content: p.prompt }] }, { headers }).withResponse();
      id = requestIdOf(response.headers);
    } catch (e) {
      if (!(e instanceof OpenAI.APIError)) throw e;
      id = requestIdOf(e.headers as Headers);
      status = e.status ?? 0;
    }
    calls.push({ id, status, model: p.model, user: p.user, session: p.session, team: p.team, prompt: p.prompt });
  }
  // close() flushes the writer and releases the chDB folder
  await first.close();
  s = await startStack({ clickhouse: true, env });
  rows = await storedRows(s.gateway);
}, 60_000);

afterAll(async () => {
  await s?.close();
  rmSync(dataDir, { recursive: true, force: true });
});

const admin = async (path: string, token: string | null = ADMIN) => {
  const r = await fetch(`${s.url}${path}`, { headers: token ? { authorization: `Bearer ${token}` } : {} });
  return { status: r.status, body: (await r.json()) as Record<string, unknown> };
};

type Page = { rows: Array<Record<string, unknown> & { request_id: string }>; nextCursor: string | null };
const ids = (select: (c: Call) => boolean) => calls.filter(select).map((c) => c.id).sort();
const list = async (query: string) => {
  const { status, body } = await admin(`/admin/requests?limit=200&${query}`);
  expect(status).toBe(200);
  return (body as unknown as Page).rows.map((r) => r.request_id).sort();
};

describe('after a restart on the same data dir', () => {
  test('every row is still there, once, under the id the client got', () => {
    expect(rows.map((r) => r.request_id).sort()).toEqual(calls.map((c) => c.id).sort());
    for (const c of calls) {
      expect(rows.find((r) => r.request_id === c.id)).toMatchObject({ status_code: c.status, model: c.model, user: c.user, session: c.session });
    }
  });

  test('the query API wants the admin token', async () => {
    expect((await admin('/admin/requests', null)).status).toBe(401);
    expect((await admin('/admin/requests', 'wrong-token-0123456789')).status).toBe(401);
  });

  test('cursor pagination walks every row once, newest first', async () => {
    const seen: string[] = [];
    const stamps: string[] = [];
    let cursor: string | null = null;
    let pages = 0;
    do {
      const { status, body } = await admin(`/admin/requests?limit=5${cursor ? `&cursor=${encodeURIComponent(cursor)}` : ''}`);
      expect(status).toBe(200);
      const page = body as unknown as Page;
      expect(page.rows.length).toBeLessThanOrEqual(5);
      expect(page.rows[0]).not.toHaveProperty('request_body');
      seen.push(...page.rows.map((r) => r.request_id));
      stamps.push(...page.rows.map((r) => String(r['ts'])));
      cursor = page.nextCursor;
      pages++;
    } while (cursor);
    expect(pages).toBe(3);
    expect(seen).toHaveLength(12);
    expect([...seen].sort()).toEqual(calls.map((c) => c.id).sort());
    expect(stamps).toEqual([...stamps].sort().reverse());
  });

  test.each([
    ['model', 'model=gpt-4.1-nano', (c: Call) => c.model === 'gpt-4.1-nano'],
    ['status code', 'status_code=500', (c: Call) => c.status === 500],
    ['outcome', 'outcome=upstream_error', (c: Call) => c.status === 500],
    ['user', 'user=bob', (c: Call) => c.user === 'bob'],
    ['session', 'session=s-1', (c: Call) => c.session === 's-1'],
    ['property', 'property=team%3Dsearch', (c: Call) => c.team === 'search'],
    ['several filters at once', 'user=carol&model=gpt-4o-mini&outcome=success', (c: Call) => c.user === 'carol' && c.model === 'gpt-4o-mini' && c.status === 200],
    ['full text on bodies', 'q=NUMBER7', (c: Call) => c.prompt.includes('number7')],
    ['provider (none match)', 'provider=anthropic', () => false],
  ] as const)('filter by %s returns exactly the matching calls', async (_name, query, select) => {
    expect(await list(query)).toEqual(ids(select));
  });

  test('a bad filter or cursor is a 400 naming the parameter', async () => {
    expect(await admin('/admin/requests?status_code=abc')).toMatchObject({ status: 400, body: { error: { param: 'status_code' } } });
    expect(await admin('/admin/requests?cursor=not-ours')).toMatchObject({ status: 400, body: { error: { param: 'cursor' } } });
  });

  test('one request by id, with its bodies; an unknown id is 404', async () => {
    const c = calls[0]!;
    const { status, body } = await admin(`/admin/requests/${c.id}`);
    expect(status).toBe(200);
    expect(body).toMatchObject({ request_id: c.id, model: c.model, prompt_tokens: 3, completion_tokens: 4, outcome: 'success' });
    expect(JSON.parse(String(body['request_body']))).toMatchObject({ model: c.model, messages: [{ content: c.prompt }] });
    expect(JSON.parse(String(body['response_body']))).toMatchObject({ object: 'chat.completion' });
    expect(await admin('/admin/requests/no-such-id')).toMatchObject({ status: 404, body: { error: { code: 'not_found' } } });
  });

  test('stats from the minute rollup add up to the rows', async () => {
    const { status, body } = await admin('/admin/stats?bucket=1d&groupBy=model');
    expect(status).toBe(200);
    const data = body['data'] as Array<{ group: string; requests: number; errors: number; prompt_tokens: number; completion_tokens: number; cost_usd: number; unpriced: number }>;
    for (const model of ['gpt-4o-mini', 'gpt-4.1-nano']) {
      const mine = rows.filter((r) => r.model === model);
      const point = data.filter((d) => d.group === model);
      const sum = (k: 'requests' | 'errors' | 'prompt_tokens' | 'cost_usd') => point.reduce((a, d) => a + d[k], 0);
      expect(sum('requests')).toBe(mine.length);
      expect(sum('errors')).toBe(mine.filter((r) => r.outcome !== 'success').length);
      expect(sum('prompt_tokens')).toBe(mine.reduce((a, r) => a + r.prompt_tokens, 0));
      expect(sum('cost_usd')).toBeCloseTo(mine.reduce((a, r) => a + (r.cost_usd ?? 0), 0), 12);
      expect(sum('cost_usd')).toBeGreaterThan(0);
    }
    expect(data.reduce((a, d) => a + d.requests, 0)).toBe(12);
  });
});
