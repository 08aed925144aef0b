import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { createClickHouse, type ClickHouseClient } from './client.ts';
import { exchangeFixture } from './fixtures.ts';
import { migrate } from './migrations.ts';
import type { EventRow } from './ingest.ts';
import { encodeCursor } from './query.ts';
import { eventRoutes, MAX_INGEST_BODY_BYTES } from './routes.ts';
import { createEventWriter, type EventWriter } from './writer.ts';
import { countingBody } from '../../../test/support/bodies.ts';
import { MAX_BODY_DEPTH } from '../json.ts';

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
    // empty, like any other empty parameter: was the first page
    ['cursor=', 'cursor'],
    ['limit=3&cursor=', 'cursor'],
    // beyond what a Date holds: was a 503 "Invalid time value" from formatting it
    ['from=9000000000000000', 'from'],
    ['to=9000000000000000', 'to'],
    // a year ClickHouse would silently read as 1970
    ['from=0000-01-01', 'from'],
    ['to=2300-01-01T00:00:00Z', 'to'],
    // not filters: were silently ignored, listing every call
    ['endpoint=chat', 'endpoint'],
    ['surface=openai', 'surface'],
    ['limt=5', 'limt'],
    // numbers are decimal digits: these were read as 0, 0, 500, 200, 100, 16, epoch 0 and 1000
    ['status_code=', 'status_code'],
    ['status_code=%20', 'status_code'],
    ['status_code=0x1F4', 'status_code'],
    ['status_code=2e2', 'status_code'],
    ['limit=1e2', 'limit'],
    ['limit=0x10', 'limit'],
    ['limit=', 'limit'],
    ['from=', 'from'],
    ['from=%20', 'from'],
    ['to=', 'to'],
    ['from=1e3', 'from'],
    ['from=-1', 'from'],
    // cursors in the right shape naming no real time: were passed on to ClickHouse
    [`cursor=${encodeCursor('9999-99-99 99:99:99', 'x')}`, 'cursor'],
    [`cursor=${encodeCursor('0000-00-00 00:00:00', 'x')}`, 'cursor'],
    [`cursor=${encodeCursor('2026-02-30 00:00:00.000', 'x')}`, 'cursor'],
    [`cursor=${encodeCursor('2026-01-01 00:00:00.1234567890123', 'x')}`, 'cursor'],
  ] as const)('answers a bad %s with an OpenAI-style 400 naming %s', async (qs, param) => {
    const res = await app().request(`/admin/requests?${qs}`);
    expect(res.status).toBe(400);
    expect(await res.json()).toMatchObject({ error: { type: 'invalid_request_error', param, message: expect.stringContaining(param) } });
  });

test('takes decimal numbers, epoch ms and ISO 8601 times as README documents', async () => {
    const ids = async (qs: string) => {
      const res = await app().request(`/admin/requests?${qs}`);
      expect(res.status, qs).toBe(200);
      return ((await res.json()) as { rows: { request_id: string }[] }).rows.map((r) => r.request_id);
    };
    const all = await ids('');
    expect(all).toHaveLength(5);
    expect(await ids('status_code=200&limit=050')).toEqual(all);
    expect(await ids(`from=${T0}&to=${NOW}`)).toEqual(all);
    for (const from of ['2026-01-15', '2026-01-15T12:00:00', '2026-01-15T12:00:00Z', '2026-01-15T13:00:00%2B01:00']) {
      expect(await ids(`from=${from}&to=${NOW}`), from).toEqual(all);
    }
    expect(await ids(`from=${NOW}`)).toEqual([]);
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

  test.each([
    ['groupby=model', 'groupby'],
    ['model=gpt-4o-mini', 'model'],
  ] as const)('400s a parameter it does not take (%s), naming %s and the ones it takes', async (qs, param) => {
    const res = await app().request(`/admin/stats?${qs}`);
    expect(res.status).toBe(400);
    expect(await res.json()).toMatchObject({
      error: { type: 'invalid_request_error', param, message: `${param}: unknown parameter ${param}; /admin/stats takes from, to, bucket, groupBy, project` },
    });
  });

  test('400s an unknown bucket', async () => {
    const res = await app().request('/admin/stats?bucket=5m');
    expect(res.status).toBe(400);
    expect(await res.json()).toMatchObject({ error: { param: 'bucket' } });
  });

  test.each([
    ['from=9000000000000000', 'from'],
    ['to=9000000000000000', 'to'],
    ['from=0000-01-01', 'from'],
    // an empty or loosely numeric time: `to=` was epoch 0, an empty answer
    ['to=', 'to'],
    ['from=', 'from'],
    ['from=%20', 'from'],
    ['to=0x10', 'to'],
    ['to=1e400', 'to'],
  ] as const)('400s a time out of range or not a time (%s) naming %s', async (qs, param) => {
    const res = await app().request(`/admin/stats?${qs}`);
    expect(res.status).toBe(400);
    expect(await res.json()).toMatchObject({ error: { type: 'invalid_request_error', param, message: expect.stringContaining(param) } });
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

  test.each([
    ['session', 'session_id'],
    ['trace', 'trace_id'],
    ['event_id', 'id'],
  ] as const)('400s an unknown field %s, suggesting %s, and stores nothing of the batch', async (field, meant) => {
    const writer = keepingWriter();
    const res = await eventRoutes({ client, writer, now: () => NOW }).request('/v1/events', {
      method: 'POST',
      body: JSON.stringify({ events: [{ type: 'custom', name: 'fine' }, { type: 'tool_call', name: 'search', [field]: 'x' }] }),
    });
    expect(res.status).toBe(400);
    const { error } = (await res.json()) as { error: { param: string; message: string } };
    expect(error.param).toBe(`events.1.${field}`);
    expect(error.message).toBe(
      `events.1.${field}: unknown field ${field} (did you mean ${meant}?); a tool_call event takes type, name, arguments, result, error, duration_ms, ` +
        'id, ts, trace_id, span_id, parent_id, session_id, request_id, user, properties',
    );
    expect(writer.rows).toEqual([]);
  });

  test('400s an unknown field beside events, naming it', async () => {
    const res = await post({ events: [{ type: 'custom', name: 'x' }], batch_id: 'b1' });
    expect(res.status).toBe(400);
    expect(await res.json()).toMatchObject({ error: { param: 'batch_id', message: 'batch_id: unknown field batch_id; the body takes events' } });
  });

  test('accepts every documented field of every type', async () => {
    const writer = keepingWriter();
    const common = {
      id: 'ev-1', ts: T0, trace_id: 't', span_id: 's', parent_id: 'p', session_id: 'sess', request_id: 'r', user: 'u', properties: { k: 'v' },
    };
    const res = await eventRoutes({ client, writer, now: () => NOW }).request('/v1/events', {
      method: 'POST',
      body: JSON.stringify({
        events: [
          { ...common, type: 'agent_step', name: 'n', step: 1, input: 1, output: 2, duration_ms: 3 },
          { ...common, type: 'tool_call', name: 'n', arguments: {}, result: [], error: 'e', duration_ms: 3 },
          { ...common, type: 'error', message: 'm', name: 'n', stack: 's' },
          { ...common, type: 'score', name: 'n', value: 1, comment: 'c' },
          { ...common, type: 'custom', name: 'n', data: null },
        ],
      }),
    });
    expect(res.status).toBe(202);
    expect(writer.rows.map((r) => [r.type, r.session, r.trace_id, r.parent_id])).toEqual(
      ['agent_step', 'tool_call', 'error', 'score', 'custom'].map((t) => [t, 'sess', 't', 'p']),
    );
  });

  test('a retry with the same id and ts is stored once; without ts it is a new row (README)', async () => {
    let t = NOW;
    const ticking = eventRoutes({ client, writer, now: () => (t += 1000) }); // each send arrives later
    const send = (event: object) =>
      ticking.request('/v1/events', { method: 'POST', body: JSON.stringify({ events: [{ type: 'custom', name: 'retried', ...event }] }) });
    for (let i = 0; i < 2; i++) {
      expect((await send({ id: 'ev-with-ts', ts: T0 + 5 })).status).toBe(202);
      expect((await send({ id: 'ev-without-ts' })).status).toBe(202);
    }
    await writer.flush();
    const rs = await client.query({
      query: "SELECT event_id, count() AS n FROM watchllm.events FINAL WHERE name = 'retried' GROUP BY event_id ORDER BY event_id",
      format: 'JSONEachRow',
    });
    expect(await rs.json()).toEqual([
      { event_id: 'ev-with-ts', n: 1 },
      { event_id: 'ev-without-ts', n: 2 },
    ]);
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
  test('stores times at both ends of the accepted window exactly', async () => {
    const res = await post({
      events: [
        { type: 'custom', name: 'w-first', ts: 0 },
        { type: 'custom', name: 'w-last', ts: '2099-12-31T23:59:59.999Z' },
      ],
    });
    expect(res.status).toBe(202);
    await writer.flush();
    const rs = await client.query({
      query: "SELECT name, toString(ts) AS ts FROM watchllm.events WHERE name LIKE 'w-%' ORDER BY name",
      format: 'JSONEachRow',
    });
    expect(await rs.json()).toEqual([
      { name: 'w-first', ts: '1970-01-01 00:00:00.000' },
      { name: 'w-last', ts: '2099-12-31 23:59:59.999' },
    ]);
  });
});

/** A writer that keeps what it is given, for tests that need no event store. */
function keepingWriter() {
  const rows: EventRow[] = [];
  return { rows, recordEvents: (batch: EventRow[]) => rows.push(...batch) && batch.length };
}

describe('POST /v1/events: event times', () => {
  test.each([
    // ClickHouse cannot parse the year (written +010000-…) and rejected the whole flushed batch
    ['year 10000 as epoch ms', 253402300800000],
    ['past 2099 (the retention TTL wraps times after 2106)', '2150-01-01T00:00:00Z'],
    ['before 1970', '1969-12-31T23:59:59Z'],
  ] as const)('refuses a ts %s with a 400 naming it, and queues nothing of the batch', async (_name, ts) => {
    const writer = keepingWriter();
    const res = await eventRoutes({ client, writer, now: () => NOW }).request('/v1/events', {
      method: 'POST',
      body: JSON.stringify({ events: [{ type: 'custom', name: 'fine' }, { type: 'custom', name: 'bad', ts }] }),
    });
    expect(res.status).toBe(400);
    expect(await res.json()).toMatchObject({
      error: { type: 'invalid_request_error', param: 'events.1.ts', message: expect.stringMatching(/^events\.1\.ts: .*1970.*2099/) },
    });
    expect(writer.rows).toEqual([]);
  });
});

describe('POST /v1/events: nesting', () => {
  /** JSON text of arrays nested `depth` levels deep. */
  const nested = (depth: number) => `${'['.repeat(depth)}${']'.repeat(depth)}`;
  const send = (writer: ReturnType<typeof keepingWriter>, event: string) =>
    eventRoutes({ client, writer, now: () => NOW }).request('/v1/events', {
      method: 'POST',
      body: `{"events":[{"type":"custom","name":"fine"},${event}]}`,
    });

  test.each([
    ['data', 513, `{"type":"custom","name":"deep","data":${nested(513)}}`],
    ['output', 515, `{"type":"agent_step","name":"deep","output":{"a":${nested(515)}}}`],
  ] as const)('refuses %s nested %i levels deep with a 400 naming it (the proxy\'s limit), and queues nothing', async (field, _depth, event) => {
    const writer = keepingWriter();
    const res = await send(writer, event);
    expect(res.status).toBe(400);
    expect(await res.json()).toEqual({
      error: {
        type: 'invalid_request_error',
        code: 'invalid_request',
        param: `events.1.${field}`,
        message: `events.1.${field}: nests more than ${MAX_BODY_DEPTH} levels deep`,
      },
    });
    expect(writer.rows).toEqual([]);
  });

  test.each([
    // deep enough to overflow JSON.stringify's stack: it was a 500 internal_error
    ['data', 20_000, `{"type":"custom","name":"deep","data":${nested(20_000)}}`],
    ['arguments', 200_000, `{"type":"tool_call","name":"deep","arguments":${nested(200_000)}}`],
    // a body of brackets (JSON.parse spends microseconds a level): refused before it is parsed
    ['data', 3_000_000, `{"type":"custom","name":"deep","data":${nested(3_000_000)}}`],
  ] as const)('refuses a body whose %s nests %i levels deep before parsing it, and queues nothing', async (_field, _depth, event) => {
    const writer = keepingWriter();
    const res = await send(writer, event);
    expect(res.status).toBe(400);
    expect(await res.json()).toEqual({
      error: { type: 'invalid_request_error', code: 'invalid_request', param: null, message: `The body nests more than ${MAX_BODY_DEPTH} levels deep.` },
    });
    expect(writer.rows).toEqual([]);
  });

  test(`stores JSON nested exactly ${MAX_BODY_DEPTH} levels deep`, async () => {
    const writer = keepingWriter();
    const res = await send(writer, `{"type":"custom","name":"deep","data":${nested(MAX_BODY_DEPTH)}}`);
    expect(res.status).toBe(202);
    expect(writer.rows.map((r) => r.payload)).toEqual(['{}', `{"data":${nested(MAX_BODY_DEPTH)}}`]);
  });
});

/** A body of `total` spaces served in 1 MiB chunks, counting what was pulled from it. */
const spaces = (total: number) => countingBody(total, 1024 * 1024);

describe('POST /v1/events: body size', () => {
  const ingest = (init: RequestInit) => {
    const writer = keepingWriter();
    const res = eventRoutes({ client, writer, now: () => NOW }).request('/v1/events', { method: 'POST', ...init, duplex: 'half' } as RequestInit);
    return { res, writer };
  };
  const tooLarge = { error: { type: 'invalid_request_error', code: 'request_too_large', message: expect.stringContaining('8 MB') } };

  test('a declared Content-Length over the limit is a 413 before the body is read', async () => {
    const big = spaces(32 * 1024 * 1024);
    const { res, writer } = ingest({ body: big.body, headers: { 'content-length': String(MAX_INGEST_BODY_BYTES + 1) } });
    const r = await res;
    expect(r.status).toBe(413);
    expect(r.headers.get('connection')).toBe('close');
    expect(await r.json()).toMatchObject(tooLarge);
    expect(big.pulled()).toBeLessThanOrEqual(big.CHUNK); // at most what the stream queued up front
    expect(writer.rows).toEqual([]);
  });

  test('a chunked body is cut with a 413 once it passes the limit, not buffered whole', async () => {
    const big = spaces(32 * 1024 * 1024);
    const r = await ingest({ body: big.body }).res;
    expect(r.status).toBe(413);
    expect(await r.json()).toMatchObject(tooLarge);
    expect(big.pulled()).toBeLessThanOrEqual(MAX_INGEST_BODY_BYTES + 2 * big.CHUNK);
  });

  test('a full batch of 1000 events of 7 KiB each fits', async () => {
    const data = 'x'.repeat(7 * 1024);
    const body = JSON.stringify({ events: Array.from({ length: 1000 }, (_, i) => ({ type: 'custom', name: `big-${i}`, data })) });
    expect(body.length).toBeLessThan(MAX_INGEST_BODY_BYTES);
    const { res, writer } = ingest({ body });
    const r = await res;
    expect(r.status).toBe(202);
    expect(await r.json()).toEqual({ accepted: 1000 });
    expect(writer.rows).toHaveLength(1000);
  });
});
