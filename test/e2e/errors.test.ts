import { freePort } from '../support/ports.ts';
import Anthropic from '@anthropic-ai/sdk';
import OpenAI from 'openai';
import { afterAll, beforeAll, beforeEach, describe, expect, test } from 'vitest';
import { startStack, type Stack } from './harness.ts';

let s: Stack;
let client: OpenAI;
let closedPort: number;


beforeAll(async () => {
  closedPort = await freePort();
  s = await startStack({
    env: {
      WATCHLLM_MAX_BODY_MB: '1',
      WATCHLLM_UPSTREAM_TIMEOUT_MS: '500',
      WATCHLLM_GROQ_BASE_URL: `http://127.0.0.1:${closedPort}/v1`,
    },
  });
  client = new OpenAI({ baseURL: `${s.url}/v1`, apiKey: 'sk-test', maxRetries: 0 });
});
afterAll(() => s.close());
beforeEach(() => {
  s.fake.reset();
  s.events.length = 0;
});

const post = (body: string | Uint8Array, headers: Record<string, string> = {}) =>
  fetch(`${s.url}/v1/chat/completions`, {
    method: 'POST',
    headers: { authorization: 'Bearer sk-test', 'content-type': 'application/json', ...headers },
    body: body as BodyInit,
  });

/** After every refusal the gateway must still serve a normal call. */
async function stillServes(): Promise<void> {
  const r = await client.chat.completions.create({ model: 'gpt-4o-mini', messages: [{ role: 'user', content: 'ok?' }] });
  expect(r.choices[0]?.message.content).toContain('Hello from fake');
}

describe('bad input: a 4xx in OpenAI error shape, never forwarded, one event each', () => {
  test.each([
    ['a body that is not JSON', '{"model": "gpt-4o", ', 400, 'invalid_json', null],
    ['a JSON array', '[1,2]', 400, 'invalid_json', null],
    ['a missing model', '{"messages":[{"role":"user","content":"x"}]}', 400, 'missing_model', 'model'],
    ['messages that are not an array', '{"model":"gpt-4o","messages":"hi"}', 400, 'invalid_type', 'messages'],
    ['an unknown provider prefix', '{"model":"nope/gpt-4o","messages":[{"role":"user","content":"x"}]}', 400, 'unknown_provider', 'model'],
  ] as const)('%s', async (_name, body, status, code, param) => {
    const r = await post(body);
    expect(r.status).toBe(status);
    expect(r.headers.get('x-watchllm-request-id')).toBeTruthy();
    const json = (await r.json()) as { error: Record<string, unknown> };
    expect(json.error).toMatchObject({ type: 'invalid_request_error', code, param });
    expect(typeof json.error['message']).toBe('string');
    expect(s.fake.calls).toHaveLength(0);
    const [x] = await s.waitForEvents(1);
    expect(x).toMatchObject({ outcome: 'invalid', response: { status }, error: { type: code } });
    await stillServes();
  });

  test('an unknown x-watchllm-provider header', async () => {
    const r = await post('{"model":"gpt-4o","messages":[{"role":"user","content":"x"}]}', { 'x-watchllm-provider': 'nope' });
    expect(r.status).toBe(400);
    expect(await r.json()).toMatchObject({ error: { code: 'unknown_provider', param: 'x-watchllm-provider' } });
    expect(s.fake.calls).toHaveLength(0);
  });

  test('a declared body over WATCHLLM_MAX_BODY_MB gets 413 before it is read', async () => {
    const big = Buffer.alloc(2 * 1024 * 1024, 'a');
    const r = await post(big);
    expect(r.status).toBe(413);
    expect(await r.json()).toMatchObject({ error: { type: 'invalid_request_error', code: 'request_too_large' } });
    expect(s.fake.calls).toHaveLength(0);
    expect((await s.waitForEvents(1))[0]).toMatchObject({ outcome: 'invalid', response: { status: 413 } });
    await stillServes();
  });

  test('a chunked body that grows over the limit gets 413 too', async () => {
    const chunk = Buffer.alloc(256 * 1024, 'a');
    let sent = 0;
    const body = new ReadableStream<Uint8Array>({
      pull(c) {
        if (sent++ < 8) c.enqueue(chunk);
        else c.close();
      },
    });
    const r = await fetch(`${s.url}/v1/chat/completions`, {
      method: 'POST',
      headers: { authorization: 'Bearer sk-test', 'content-type': 'application/json' },
      body,
      duplex: 'half',
    } as RequestInit);
    expect(r.status).toBe(413);
    expect(s.fake.calls).toHaveLength(0);
    await stillServes();
  });

  test('no credentials at all is a 401, not a call with the gateway key', async () => {
    const r = await fetch(`${s.url}/v1/chat/completions`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: '{"model":"gpt-4o","messages":[{"role":"user","content":"x"}]}',
    });
    expect(r.status).toBe(401);
    expect(await r.json()).toMatchObject({ error: { type: 'authentication_error', code: 'missing_api_key' } });
    expect(s.fake.calls).toHaveLength(0);
  });

  test('an unknown route answers 404 in OpenAI shape', async () => {
    const r = await fetch(`${s.url}/v1/nothing-here`, { method: 'POST' });
    expect(r.status).toBe(404);
    expect(r.headers.get('x-watchllm-request-id')).toMatch(/^[0-9a-f-]{36}$/);
    expect(await r.json()).toMatchObject({
      error: { type: 'invalid_request_error', code: 'unknown_url', message: 'Invalid URL (POST /v1/nothing-here)' },
    });
  });
});

describe('unknown paths and wrong methods answer in the shape of the SDK that called', () => {
  const anthropic = () => new Anthropic({ baseURL: s.url, apiKey: 'sk-ant-test', maxRetries: 0 });

  test.each([
    ['POST', '/v1/messages/batches'],
    ['GET', '/v1/messages/msg_0123'],
    ['POST', '/v1/messages/'],
  ] as const)('%s %s is a 404 in Anthropic shape', async (method, path) => {
    const r = await fetch(`${s.url}${path}`, { method, headers: { 'content-type': 'application/json' }, body: method === 'GET' ? null : '{}' });
    expect(r.status).toBe(404);
    expect(r.headers.get('x-watchllm-request-id')).toBeTruthy();
    expect(await r.json()).toEqual({ type: 'error', error: { type: 'not_found_error', message: `Invalid URL (${method} ${path})` } });
    expect(s.fake.calls).toHaveLength(0);
  });

  test('the Anthropic SDK reads a 404 for an endpoint the gateway does not serve as NotFoundError', async () => {
    const batch = anthropic().messages.batches.create({ requests: [] });
    await expect(batch).rejects.toBeInstanceOf(Anthropic.NotFoundError);
    await expect(batch).rejects.toMatchObject({ status: 404, error: { type: 'error', error: { type: 'not_found_error' } } });
    // Any unknown path an Anthropic client calls (it always sends anthropic-version), not just /v1/messages/…
    await expect(anthropic().beta.files.list()).rejects.toMatchObject({
      status: 404,
      error: { type: 'error', error: { type: 'not_found_error' } },
    });
  });

  test.each([
    ['GET', '/v1/chat/completions', 'POST'],
    ['GET', '/v1/completions', 'POST'],
    ['GET', '/v1/embeddings', 'POST'],
    ['PUT', '/v1/responses', 'POST'],
    ['POST', '/v1/models', 'GET'],
    ['DELETE', '/v1/models/ft:gpt-4o-mini:acme::abc123', 'GET'],
    ['POST', '/healthz', 'GET'],
  ] as const)('%s %s is a 405 in OpenAI shape with Allow: %s', async (method, path, allow) => {
    const r = await fetch(`${s.url}${path}`, { method, headers: { authorization: 'Bearer sk-test' } });
    expect(r.status).toBe(405);
    expect(r.headers.get('allow')).toBe(allow);
    expect(r.headers.get('x-watchllm-request-id')).toBeTruthy();
    expect(await r.json()).toEqual({
      error: { type: 'invalid_request_error', code: 'method_not_allowed', param: null, message: `Invalid method for URL (${method} ${path})` },
    });
    expect(s.fake.calls).toHaveLength(0);
  });

  test.each([
    ['GET', '/v1/messages', {}],
    ['DELETE', '/v1/messages', {}],
    ['GET', '/v1/messages/count_tokens', {}],
    ['DELETE', '/v1/models', { 'anthropic-version': '2023-06-01' }],
  ] as const)('%s %s is a 405 in Anthropic shape', async (method, path, headers) => {
    const r = await fetch(`${s.url}${path}`, { method, headers: { 'x-api-key': 'sk-ant-test', ...headers } });
    expect(r.status).toBe(405);
    expect(r.headers.get('allow')).toBe(path === '/v1/models' ? 'GET' : 'POST');
    expect(await r.json()).toEqual({ type: 'error', error: { type: 'invalid_request_error', message: `Invalid method for URL (${method} ${path})` } });
    expect(s.fake.calls).toHaveLength(0);
    await stillServes();
  });
});

describe('upstream failures', () => {
  test('a provider 500 is relayed with its status and body', async () => {
    s.fake.next({ status: 500, errorMessage: 'boom' });
    await expect(client.chat.completions.create({ model: 'gpt-4o-mini', messages: [{ role: 'user', content: 'x' }] })).rejects.toMatchObject({
      status: 500,
      error: { message: 'boom' },
    });
    expect((await s.waitForEvents(1))[0]).toMatchObject({ outcome: 'upstream_error', response: { status: 500 } });
    await stillServes();
  });

  test('a provider that does not answer in time gives 504', async () => {
    s.fake.next({ hangMs: 3000 });
    await expect(client.chat.completions.create({ model: 'gpt-4o-mini', messages: [{ role: 'user', content: 'x' }] })).rejects.toMatchObject({
      status: 504,
      error: { type: 'api_error', code: 'upstream_timeout' },
    });
    expect((await s.waitForEvents(1))[0]).toMatchObject({ outcome: 'timeout', response: { status: 504 } });
    await stillServes();
  });

  test('a provider that refuses connections gives 502', async () => {
    await expect(client.chat.completions.create({ model: 'groq/llama-3.1-8b-instant', messages: [{ role: 'user', content: 'x' }] })).rejects.toMatchObject({
      status: 502,
      error: { code: 'upstream_unreachable', message: expect.stringContaining(`127.0.0.1:${closedPort}`) },
    });
    expect((await s.waitForEvents(1))[0]).toMatchObject({ outcome: 'upstream_unreachable', route: { provider: 'groq' } });
    await stillServes();
  });

  test('a stream cut mid-way ends with an error the SDK raises, and what was streamed is recorded', async () => {
    s.fake.next({ text: 'one two three four five six', chunks: 6, dropAfterChunks: 2 });
    const stream = await client.chat.completions.create({ model: 'gpt-4o-mini', stream: true, messages: [{ role: 'user', content: 'x' }] });
    let text = '';
    await expect(
      (async () => {
        for await (const chunk of stream) text += chunk.choices[0]?.delta.content ?? '';
      })(),
    ).rejects.toThrow(/cut/);
    expect(text.length).toBeGreaterThan(0);
    const x = (await s.waitForEvents(1))[0]!;
    expect(x).toMatchObject({ outcome: 'upstream_error', error: { type: 'upstream_stream_cut' } });
    expect(x.response.body).toBe(text);
    await stillServes();
  });

  test("an Anthropic stream cut mid-way is recorded with the provider's input count and the output streamed so far", async () => {
    s.fake.next({ text: 'one two three four five six seven eight nine ten', chunks: 10, dropAfterChunks: 6 });
    const anthropic = new Anthropic({ baseURL: s.url, apiKey: 'sk-ant-test', maxRetries: 0 });
    const stream = anthropic.messages.stream({ model: 'claude-haiku-4-5', max_tokens: 100, messages: [{ role: 'user', content: 'count for me please' }] });
    let text = '';
    stream.on('text', (t) => (text += t));
    await expect(stream.finalMessage()).rejects.toThrow();
    expect(text.split(' ').filter(Boolean)).toHaveLength(6);
    const x = (await s.waitForEvents(1))[0]!;
    expect(x.outcome).toBe('upstream_error');
    expect(x.response.usageSource).toBe('estimate');
    // message_start said 4 input words (the fake's rule) and output 1: the output is what was streamed
    expect(x.response.usage).toMatchObject({ promptTokens: 4 });
    expect(x.response.usage!.completionTokens).toBeGreaterThanOrEqual(6);
  });

  test('a client that disconnects mid-stream aborts the upstream call and is recorded as client_closed', async () => {
    s.fake.next({ text: 'a b c d e f g h i j', chunks: 10, chunkDelayMs: 100 });
    const ac = new AbortController();
    const stream = await client.chat.completions.create(
      { model: 'gpt-4o-mini', stream: true, messages: [{ role: 'user', content: 'x' }] },
      { signal: ac.signal },
    );
    let n = 0;
    // The SDK ends the iteration quietly on abort; what matters is what happens upstream.
    try {
      for await (const _ of stream) if (++n === 2) ac.abort();
    } catch {
      /* some SDK versions throw an APIUserAbortError here */
    }
    const x = (await s.waitForEvents(1))[0]!;
    expect(x.outcome).toBe('client_closed');
    expect(x.response.body!.length).toBeGreaterThan(0);
    await expect.poll(() => s.fake.aborted(), { timeout: 3000 }).toBe(1);
    await stillServes();
  });
});
