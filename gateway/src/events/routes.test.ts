import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { createClickHouse, type ClickHouseClient } from './client.ts';
import { exchangeFixture } from './fixtures.ts';
import { migrate } from './migrations.ts';
import { eventRoutes } from './routes.ts';
import { createEventWriter, type EventWriter } from './writer.ts';

let dir: string;
let client: ClickHouseClient;
let writer: EventWriter;
const T0 = Date.UTC(2026, 0, 15, 12, 0, 0);
const NOW = T0 + 3_600_000;

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'watchllm-routes-'));
  client = createClickHouse({ dataDir: dir });
  await migrate(client);
  writer = createEventWriter({ client, dataDir: dir });
  for (let n = 1; n <= 5; n++) writer.record(exchangeFixture(n, T0));
  await writer.flush();
});

afterAll(async () => {
  await writer.close();
  await client.close();
  rmSync(dir, { recursive: true, force: true });
});

const app = () =>
  eventRoutes({ client, writer, now: () => NOW, identify: () => ({ project: 'proj_a', keyId: 'key_1' }) });

async function events(): Promise<Record<string, unknown>[]> {
  await writer.flush();
  const rs = await client.query({
    query: 'SELECT type, name, trace_id, session, request_id, project, score, message, payload FROM watchllm.events ORDER BY ts, name',
    format: 'JSONEachRow',
  });
  return rs.json();
}

describe('GET /admin/requests', () => {
  test('lists newest first with a cursor to the next page', async () => {
    const res = await app().request('/admin/requests?limit=2&user=user_1');
    expect(res.status).toBe(200);
    const body = (await res.json()) as { rows: { request_id: string }[]; nextCursor: string | null };
    expect(body.rows.map((r) => r.request_id)).toEqual(['req_000004', 'req_000001']);
    expect(body.nextCursor).toBeNull();

    const first = (await (await app().request('/admin/requests?limit=3')).json()) as typeof body;
    const next = await app().request(`/admin/requests?limit=3&cursor=${first.nextCursor}`);
    const second = (await next.json()) as typeof body;
    expect([...first.rows, ...second.rows].map((r) => r.request_id)).toEqual([
      'req_000005',
      'req_000004',
      'req_000003',
      'req_000002',
      'req_000001',
    ]);
  });

  test('repeated property filters all apply', async () => {
    const res = await app().request('/admin/requests?property=env%3Dprod&property=env%3Ddev');
    expect(((await res.json()) as { rows: unknown[] }).rows).toEqual([]);
  });

  test.each([
    ['limit=500', 'limit'],
    ['from=not-a-date', 'from'],
    ['status_code=abc', 'status_code'],
    ['cursor=garbage', 'cursor'],
  ] as const)('answers a bad %s with an OpenAI-style 400 naming %s', async (qs, param) => {
    const res = await app().request(`/admin/requests?${qs}`);
    expect(res.status).toBe(400);
    expect(await res.json()).toMatchObject({ error: { type: 'invalid_request_error', param } });
  });
});

describe('GET /admin/requests/:id', () => {
  test('returns the full row', async () => {
    const res = await app().request('/admin/requests/req_000003');
    expect(res.status).toBe(200);
    expect(await res.json()).toMatchObject({ request_id: 'req_000003', prompt_tokens: 13, request_body: expect.stringContaining('hello 3') });
  });

  test('404s an unknown id in the OpenAI error shape', async () => {
    const res = await app().request('/admin/requests/req_missing');
    expect(res.status).toBe(404);
    expect(await res.json()).toMatchObject({ error: { type: 'invalid_request_error', code: 'not_found' } });
  });
});

describe('GET /admin/stats', () => {
  test('defaults to the last 24 hours and groups on request', async () => {
    const res = await app().request('/admin/stats?bucket=1h&groupBy=model');
    expect(res.status).toBe(200);
    expect(await res.json()).toMatchObject({
      data: [{ bucket: '2026-01-15 12:00:00', group: 'gpt-4o-mini', requests: 5, errors: 0, p50_ms: 101 }],
    });
  });

  test('400s an unknown bucket', async () => {
    const res = await app().request('/admin/stats?bucket=5m');
    expect(res.status).toBe(400);
    expect(await res.json()).toMatchObject({ error: { param: 'bucket' } });
  });
});

describe('POST /v1/events', () => {
  const post = (body: unknown) =>
    app().request('/v1/events', {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: typeof body === 'string' ? body : JSON.stringify(body),
    });

  test('accepts a batch of every event type and stores them linked to calls', async () => {
    const ts = new Date(T0).toISOString();
    const res = await post({
      events: [
        { type: 'agent_step', name: 'a-plan', step: 1, trace_id: 'tr_1', session_id: 'sess_1', ts, input: { goal: 'x' } },
        { type: 'tool_call', name: 'b-search', trace_id: 'tr_1', request_id: 'req_000001', ts, arguments: { q: 'y' }, duration_ms: 12 },
        { type: 'error', name: 'c-err', message: 'tool timed out', trace_id: 'tr_1', ts },
        { type: 'score', name: 'd-helpfulness', value: 0.8, request_id: 'req_000001', ts },
        { type: 'custom', name: 'e-checkout', data: { cart: 3 }, user: 'u1', ts },
      ],
    });
    expect(res.status).toBe(202);
    expect(await res.json()).toEqual({ accepted: 5 });
    const stored = await events();
    expect(stored).toMatchObject([
      { type: 'agent_step', name: 'a-plan', trace_id: 'tr_1', session: 'sess_1', project: 'proj_a' },
      { type: 'tool_call', name: 'b-search', request_id: 'req_000001' },
      { type: 'error', name: 'c-err', message: 'tool timed out' },
      { type: 'score', name: 'd-helpfulness', score: 0.8 },
      { type: 'custom', name: 'e-checkout' },
    ]);
    expect(JSON.parse(String(stored[0]?.payload))).toEqual({ step: 1, input: { goal: 'x' } });
  });

  test.each([
    [{ events: [{ type: 'score', name: 'x' }] }, 'events.0.value'],
    [{ events: [{ type: 'nope', name: 'x' }] }, 'events.0.type'],
    [{ events: [] }, 'events'],
    [{}, 'events'],
  ] as const)('400s %j with the zod path %s', async (body, param) => {
    const res = await post(body);
    expect(res.status).toBe(400);
    expect(await res.json()).toMatchObject({ error: { type: 'invalid_request_error', param } });
  });

  test('400s a body that is not JSON', async () => {
    const res = await post('{');
    expect(res.status).toBe(400);
    expect(await res.json()).toMatchObject({ error: { code: 'invalid_json' } });
  });

  test('without a writer, inserts at once', async () => {
    const direct = eventRoutes({ client, now: () => NOW });
    const res = await direct.request('/v1/events', {
      method: 'POST',
      body: JSON.stringify({ events: [{ type: 'custom', name: 'z-direct', ts: T0 + 1 }] }),
    });
    expect(res.status).toBe(202);
    expect((await events()).map((e) => e.name)).toContain('z-direct');
  });
});
