import { createHash } from 'node:crypto';
import { readdirSync } from 'node:fs';
import { request } from 'node:http';
import { join } from 'node:path';
import OpenAI from 'openai';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { startStack, type Stack } from './harness.ts';
import { eventsOf, requestIdOf } from './events-support.ts';
import { get, linkedRequestIds, signIn, testId } from '../console/support.ts';

/**
 * POST /v1/events through the real gateway into embedded chDB: what an app reports about itself,
 * linked by session to the calls it made through the proxy.
 */

const KEY = 'wl_ingest_0123456789abcdefghij';
const SESSION = 'sess-ingest-42';
const ADMIN = 'admin-token-ingest-0123456789';
let s: Stack;
let callId: string;

beforeAll(async () => {
  s = await startStack({
    clickhouse: true,
    yaml: `keys:\n  - name: app\n    project: acme\n    key: ${KEY}\n`,
    env: { WATCHLLM_OPENAI_API_KEY: 'sk-held-by-gateway-ingest', WATCHLLM_ADMIN_TOKEN: ADMIN },
  });
  const openai = new OpenAI({ baseURL: `${s.url}/v1`, apiKey: KEY, maxRetries: 0 });
  const { response } = await openai.chat.completions
    .create({ model: 'gpt-4o-mini', messages: [{ role: 'user', content: 'plan a trip' }] }, { headers: { 'x-watchllm-session': SESSION } })
    .withResponse();
  callId = requestIdOf(response.headers);
});
afterAll(() => s?.close());

const ingest = async (body: unknown, key: string | null = KEY) => {
  const r = await fetch(`${s.url}/v1/events`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', ...(key ? { authorization: `Bearer ${key}` } : {}) },
    body: typeof body === 'string' ? body : JSON.stringify(body),
  });
  return { status: r.status, body: (await r.json()) as Record<string, unknown> };
};

async function query<T>(sql: string, params: Record<string, unknown> = {}): Promise<T[]> {
  const { client, writer } = eventsOf(s.gateway);
  await writer.flush();
  const rs = await client.query({ query: sql, query_params: params, format: 'JSONEachRow' });
  return rs.json<T>();
}

describe('POST /v1/events', () => {
  test('typed events with a gateway key are stored, linked by session to the proxied call', async () => {
    const events = [
      { type: 'agent_step', name: 'plan', step: 1, input: { goal: 'trip' }, duration_ms: 12.5, session_id: SESSION, trace_id: 't-1' },
      { type: 'tool_call', name: 'search_flights', arguments: { to: 'Lisbon' }, result: ['TP123'], session_id: SESSION, trace_id: 't-1' },
      { type: 'error', message: 'hotel API timed out', name: 'TimeoutError', session_id: SESSION },
      { type: 'score', name: 'helpfulness', value: 0.9, session_id: SESSION, request_id: callId },
      { type: 'custom', name: 'checkout', data: { total: 420 }, session_id: SESSION, properties: { env: 'test' } },
    ];
    expect(await ingest({ events })).toEqual({ status: 202, body: { accepted: 5 } });

    const linked = await query<{ type: string; name: string; message: string; score: number | null; project: string; key_id: string; request_id: string; call_key: string }>(
      `SELECT e.type AS type, e.name AS name, e.message AS message, e.score AS score, e.project AS project,
              e.key_id AS key_id, r.request_id AS request_id, r.key_id AS call_key
       FROM watchllm.events AS e INNER JOIN watchllm.requests AS r ON e.session = r.session
       WHERE e.session = {session:String} ORDER BY e.type`,
      { session: SESSION },
    );
    expect(linked.map((e) => e.type)).toEqual(['agent_step', 'custom', 'error', 'score', 'tool_call']);
    // sent without ts, they share their arrival time and keep their order in the batch (time-ordered ids)
    const inOrder = await query<{ type: string }>(
      `SELECT type FROM watchllm.events WHERE session = {session:String} ORDER BY ts, event_id`,
      { session: SESSION },
    );
    expect(inOrder.map((e) => e.type)).toEqual(events.map((e) => e.type));
    for (const e of linked) expect(e).toMatchObject({ project: 'acme', request_id: callId, key_id: e.call_key });
    expect(linked.find((e) => e.type === 'error')).toMatchObject({ name: 'TimeoutError', message: 'hotel API timed out', score: null });
    expect(linked.find((e) => e.type === 'score')).toMatchObject({ name: 'helpfulness', score: 0.9 });

    const [tool] = await query<{ payload: string; trace_id: string }>(
      `SELECT payload, trace_id FROM watchllm.events WHERE type = 'tool_call' AND session = {session:String}`,
      { session: SESSION },
    );
    expect(tool?.trace_id).toBe('t-1');
    expect(JSON.parse(tool?.payload ?? 'null')).toEqual({ arguments: { to: 'Lisbon' }, result: ['TP123'] });
  });

  test.each([
    ['a score without its value', { events: [{ type: 'score', name: 'x' }] }, 'events.0.value'],
    ['an unknown event type', { events: [{ type: 'nope', name: 'x' }] }, 'events.0.type'],
    ['a bad second event', { events: [{ type: 'custom', name: 'ok' }, { type: 'agent_step', name: '' }] }, 'events.1.name'],
    ['an empty batch', { events: [] }, 'events'],
    // ClickHouse cannot store year 10000: accepted, it failed the whole flushed batch at insert
    ['a ts in year 10000 beside a good event', { events: [{ type: 'custom', name: 'ok' }, { type: 'custom', name: 'far', ts: 253402300800000 }] }, 'events.1.ts'],
  ] as const)('%s is a 400 naming the path, and nothing of the batch is stored', async (_name, body, param) => {
    const r = await ingest(body);
    expect(r.status).toBe(400);
    expect(r.body).toMatchObject({ error: { type: 'invalid_request_error', param, message: expect.stringContaining(param) } });
  });

  test('a body that is not JSON is a 400', async () => {
    expect(await ingest('{"events": [')).toMatchObject({ status: 400, body: { error: { code: 'invalid_json' } } });
  });

  test('data nested past 512 levels is a 400 naming the field, as the proxy refuses such a body, not a 500', async () => {
    const deep = `${'['.repeat(515)}${']'.repeat(515)}`;
    expect(await ingest(`{"events":[{"type":"custom","name":"deep","data":${deep}}]}`)).toEqual({
      status: 400,
      body: { error: { type: 'invalid_request_error', code: 'invalid_request', param: 'events.0.data', message: 'events.0.data: nests more than 512 levels deep' } },
    });
  });

  test('a body nested 20,000 levels deep is a 400 before it is parsed, not a 500', async () => {
    const deep = `${'['.repeat(20_000)}${']'.repeat(20_000)}`;
    expect(await ingest(`{"events":[{"type":"custom","name":"deep","data":${deep}}]}`)).toEqual({
      status: 400,
      body: { error: { type: 'invalid_request_error', code: 'invalid_request', param: null, message: 'The body nests more than 512 levels deep.' } },
    });
  });

  test.each([
    ['no key', null, 'missing_api_key'],
    ['an unknown gateway key', 'wl_unknown_0123456789abcdefghij', 'invalid_gateway_key'],
  ] as const)('%s is a 401', async (_name, key, code) => {
    expect(await ingest({ events: [{ type: 'custom', name: 'x' }] }, key)).toMatchObject({
      status: 401,
      body: { error: { type: 'authentication_error', code } },
    });
  });

  test('a provider key is accepted and attributed by fingerprint only', async () => {
    const providerKey = 'sk-app-own-provider-key-0123';
    expect(await ingest({ events: [{ type: 'custom', name: 'byok-event', session_id: 'byok' }] }, providerKey)).toMatchObject({ status: 202 });
    const rows = await query<Record<string, unknown>>(`SELECT * FROM watchllm.events WHERE session = 'byok'`);
    expect(rows).toHaveLength(1);
    expect(rows[0]).toMatchObject({ key_id: `byok:${createHash('sha256').update(providerKey).digest('hex').slice(0, 12)}`, project: '' });
    expect(JSON.stringify(rows)).not.toContain(providerKey);
  });

  test('only the accepted batches were stored, and ClickHouse refused none of them', async () => {
    const [n] = await query<{ n: number }>('SELECT count() AS n FROM watchllm.events');
    expect(n).toEqual({ n: 6 });
    expect(readdirSync(join(s.gateway.deps.config.data_dir, 'spool', 'rejected'))).toEqual([]);
  });
});

/**
 * POST /v1/events over a raw connection, writing `chunk`-byte pieces of spaces until the gateway
 * answers or `max` bytes are written; resolves with the answer and how much was written by then.
 * `declared` sends that Content-Length (and never finishes the body); without it the body is chunked.
 */
function uploadEvents(opts: { declared?: number; chunk: number; max: number }) {
  return new Promise<{ status: number; body: Record<string, unknown>; sent: number }>((resolve, reject) => {
    let sent = 0;
    let answered = false;
    const headers = { authorization: `Bearer ${KEY}`, 'content-type': 'application/json' };
    const req = request(
      new URL('/v1/events', s.url),
      { method: 'POST', headers: opts.declared ? { ...headers, 'content-length': String(opts.declared) } : headers },
      (res) => {
        answered = true;
        const atAnswer = sent;
        let text = '';
        res.setEncoding('utf8');
        res.on('data', (d: string) => (text += d));
        res.on('end', () => {
          req.destroy();
          resolve({ status: res.statusCode ?? 0, body: JSON.parse(text) as Record<string, unknown>, sent: atAnswer });
        });
      },
    );
    // the gateway reads (and drops) the rest of the upload after its answer: no write fails before it
    req.on('error', (e) => answered || reject(e));
    const piece = Buffer.alloc(opts.chunk, 0x20);
    // One piece per turn of the event loop, so an answer is read as soon as it arrives (as clients
    // that watch for an early answer do) rather than after a write into a closed connection.
    const feed = () => {
      if (answered) return;
      if (sent >= opts.max) {
        if (!opts.declared) return void req.end();
        // the rest of a declared body never comes: a gateway waiting for it to answer never answers
        setTimeout(() => answered || reject(new Error(`no answer after ${sent} of ${opts.declared} bytes`)), 5000).unref();
        return;
      }
      sent += piece.length;
      if (req.write(piece)) setImmediate(feed);
      else req.once('drain', feed);
    };
    feed();
  });
}

describe('POST /v1/events body size', () => {
  const MB = 1024 * 1024;
  const tooLarge = { error: { type: 'invalid_request_error', code: 'request_too_large' } };

  test('a declared 200 MB body gets 413 before it is sent', async () => {
    const r = await uploadEvents({ declared: 200 * MB, chunk: 64 * 1024, max: MB });
    expect(r).toMatchObject({ status: 413, body: tooLarge });
    expect(r.sent).toBeLessThanOrEqual(MB); // answered with 199 MB or more still unsent
    expect((await fetch(`${s.url}/healthz`)).status).toBe(200);
  });

  test('a chunked body is cut with a 413 soon after it passes the limit, not buffered whole', async () => {
    const r = await uploadEvents({ chunk: MB, max: 64 * MB });
    expect(r).toMatchObject({ status: 413, body: tooLarge });
    // the 8 MB limit plus what socket buffers hold; buffering all 64 MB first answered 400
    expect(r.sent).toBeLessThan(32 * MB);
    expect((await fetch(`${s.url}/healthz`)).status).toBe(200);
  });
});

/**
 * An app instrumented with OpenTelemetry sends `traceparent` on its calls: the call is recorded in
 * that trace, so what the app reports with the same trace_id joins it, in SQL, the query API and
 * the console.
 */
describe('calls and reported events in one trace', () => {
  const TRACE = '0af7651916cd43dd8448eb211c80319c';
  const SPAN = 'b7ad6b7169203331';

  test('traceparent puts the call in the trace; the trace joins it to the events the app reports', async () => {
    const openai = new OpenAI({ baseURL: `${s.url}/v1`, apiKey: KEY, maxRetries: 0 });
    const { response } = await openai.chat.completions
      .create({ model: 'gpt-4o-mini', messages: [{ role: 'user', content: 'rank these' }] }, { headers: { traceparent: `00-${TRACE}-${SPAN}-01` } })
      .withResponse();
    const id = requestIdOf(response.headers);
    const events = [
      { type: 'agent_step', name: 'rank', trace_id: TRACE, span_id: 'a1b2c3d4e5f60718' },
      { type: 'score', name: 'relevance', value: 1, trace_id: TRACE },
    ];
    expect(await ingest({ events })).toEqual({ status: 202, body: { accepted: 2 } });
    // another tenant (here a provider key of its own) naming this trace and this call
    const spoof = [{ type: 'custom', name: 'spoofed-by-another-tenant', trace_id: TRACE, request_id: id }];
    expect(await ingest({ events: spoof }, 'sk-another-tenant-0123456789')).toEqual({ status: 202, body: { accepted: 1 } });

    const joined = await query<{ request_id: string; span_id: string; type: string }>(
      `SELECT r.request_id AS request_id, r.span_id AS span_id, e.type AS type
       FROM watchllm.requests AS r INNER JOIN watchllm.events AS e ON e.trace_id = r.trace_id AND e.project = r.project
       WHERE r.trace_id = {trace:String} ORDER BY type`,
      { trace: TRACE },
    );
    expect(joined).toEqual([
      { request_id: id, span_id: SPAN, type: 'agent_step' },
      { request_id: id, span_id: SPAN, type: 'score' },
    ]);

    const api = await fetch(`${s.url}/admin/requests?trace_id=${TRACE}`, { headers: { authorization: `Bearer ${ADMIN}` } });
    expect(((await api.json()) as { rows: Array<{ request_id: string; trace_id: string }> }).rows.map((r) => [r.request_id, r.trace_id])).toEqual([[id, TRACE]]);

    const cookie = await signIn(s.url, ADMIN);
    const page = await get(`${s.url}/console/requests/${id}`, cookie);
    expect(testId(page.html, 'trace')).toContain(TRACE);
    // the events of the trace are listed on the call's page, though none names the call
    expect(page.html).toContain('relevance');
    expect(page.html).toContain('agent_step');
    // only the call's own project's events are shown with it
    expect(page.html).not.toContain('spoofed-by-another-tenant');
    const list = await get(`${s.url}/console/requests?range=all&trace_id=${TRACE}`, cookie);
    expect(linkedRequestIds(list.html)).toEqual([id]);
  });
});
