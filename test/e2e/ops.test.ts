import OpenAI from 'openai';
import { afterAll, beforeAll, beforeEach, describe, expect, test } from 'vitest';
import { startStack, type Stack } from './harness.ts';

const GATEWAY_KEY = 'wl_test_0123456789abcdefghijklmnopqrstuv';
let s: Stack;

beforeAll(async () => {
  s = await startStack({
    yaml: `keys:\n  - name: ci\n    project: acme\n    key: ${GATEWAY_KEY}\n`,
    env: { WATCHLLM_OPENAI_API_KEY: 'sk-held-by-gateway' },
  });
});
afterAll(() => s.close());
beforeEach(() => {
  s.fake.reset();
  s.events.length = 0;
});

describe('gateway keys', () => {
  test('a wl_ bearer uses the provider key the gateway holds and is attributed to its project', async () => {
    const client = new OpenAI({ baseURL: `${s.url}/v1`, apiKey: GATEWAY_KEY, maxRetries: 0 });
    await client.chat.completions.create({ model: 'gpt-4o-mini', messages: [{ role: 'user', content: 'hi' }] });
    expect(s.fake.calls[0]?.headers['authorization']).toBe('Bearer sk-held-by-gateway');
    const x = (await s.waitForEvents(1))[0]!;
    expect(x.auth).toMatchObject({ mode: 'gateway_key', project: 'acme', keyId: expect.stringMatching(/^cfg_/) });
    expect(JSON.stringify(x.auth)).not.toContain(GATEWAY_KEY);
  });

  test('x-watchllm-key beside a provider key: the provider key is used, the call is attributed', async () => {
    const client = new OpenAI({ baseURL: `${s.url}/v1`, apiKey: 'sk-own-key', maxRetries: 0, defaultHeaders: { 'x-watchllm-key': GATEWAY_KEY } });
    await client.chat.completions.create({ model: 'gpt-4o-mini', messages: [{ role: 'user', content: 'hi' }] });
    expect(s.fake.calls[0]?.headers['authorization']).toBe('Bearer sk-own-key');
    expect((await s.waitForEvents(1))[0]!.auth).toMatchObject({ mode: 'gateway_key', project: 'acme' });
  });

  test('an unknown wl_ key is refused with 401 and never reaches the provider', async () => {
    const client = new OpenAI({ baseURL: `${s.url}/v1`, apiKey: 'wl_not_a_real_key', maxRetries: 0 });
    await expect(client.chat.completions.create({ model: 'gpt-4o-mini', messages: [{ role: 'user', content: 'hi' }] })).rejects.toMatchObject({
      status: 401,
      error: { type: 'authentication_error', code: 'invalid_gateway_key' },
    });
    expect(s.fake.calls).toHaveLength(0);
    expect((await s.waitForEvents(1))[0]).toMatchObject({ outcome: 'unauthorized', response: { status: 401 } });
  });
});

describe('operations endpoints', () => {
  test('/healthz and /readyz', async () => {
    const h = await fetch(`${s.url}/healthz`);
    expect(h.status).toBe(200);
    expect(await h.json()).toEqual({ status: 'ok' });
    const r = await fetch(`${s.url}/readyz`);
    expect(r.status).toBe(200);
    expect(await r.json()).toMatchObject({ status: 'ok' });
  });

  test('every answer outside the proxy carries its own x-watchllm-request-id, as the README promises', async () => {
    const ids = new Set<string>();
    for (const [method, path, status] of [
      ['GET', '/healthz', 200],
      ['GET', '/readyz', 200],
      ['GET', '/metrics', 200],
      ['GET', '/admin/keys', 403],
      ['GET', '/nothing-here', 404],
    ] as const) {
      const r = await fetch(`${s.url}${path}`, { method });
      expect(r.status, path).toBe(status);
      const id = r.headers.get('x-watchllm-request-id');
      expect(id, path).toMatch(/^[0-9a-f-]{36}$/);
      ids.add(id!);
    }
    expect(ids.size).toBe(5);
  });

  test('/metrics counts requests, tokens, cost, latency and in-flight streams', async () => {
    const client = new OpenAI({ baseURL: `${s.url}/v1`, apiKey: 'sk-x', maxRetries: 0 });
    await client.chat.completions.create({ model: 'gpt-4o-mini', messages: [{ role: 'user', content: 'hi' }] });
    await s.waitForEvents(1);
    const text = await (await fetch(`${s.url}/metrics`)).text();
    expect(text).toMatch(/watchllm_requests_total\{endpoint="chat",provider="openai",status="200",outcome="success"\} [1-9]/);
    expect(text).toMatch(/watchllm_tokens_total\{provider="openai",model="gpt-4o-mini",type="prompt"\} [1-9]/);
    expect(text).toMatch(/watchllm_cost_usd_total\{provider="openai",model="gpt-4o-mini"\} \d/);
    expect(text).toContain('watchllm_request_duration_seconds_bucket');
    expect(text).toContain('watchllm_streams_in_flight 0');
  });
});

describe('graceful shutdown', () => {
  test('SIGTERM-style close lets an in-flight stream finish', async () => {
    const other = await startStack();
    const client = new OpenAI({ baseURL: `${other.url}/v1`, apiKey: 'sk-x', maxRetries: 0 });
    other.fake.next({ text: 'a b c d e', chunks: 5, chunkDelayMs: 60 });
    const stream = await client.chat.completions.create({ model: 'gpt-4o-mini', stream: true, messages: [{ role: 'user', content: 'x' }] });
    const closing = other.gateway.close();
    let text = '';
    for await (const chunk of stream) text += chunk.choices[0]?.delta.content ?? '';
    await closing;
    await other.fake.close();
    expect(text).toBe('a b c d e');
    expect(other.events).toHaveLength(1);
    expect(other.events[0]?.outcome).toBe('success');
  });
});
