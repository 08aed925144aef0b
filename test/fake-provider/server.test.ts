/**
 * Server behaviour the gateway's tests rely on: provider-shaped errors, key checks, scenario
 * selection, recording, streams cut mid-way, client aborts and closing.
 */
import OpenAI from 'openai';
import { afterAll, beforeAll, beforeEach, describe, expect, test, vi } from 'vitest';
import { startFakeProvider, type FakeProvider, type Scenario } from './index.ts';

let fake: FakeProvider;
let client: OpenAI;

beforeAll(async () => {
  fake = await startFakeProvider();
  client = new OpenAI({ apiKey: 'sk-test', baseURL: `${fake.url}/v1`, maxRetries: 0 });
});
afterAll(async () => {
  await fake.close();
});
beforeEach(() => fake.reset());

const chatBody = { model: 'gpt-4o', messages: [{ role: 'user' as const, content: 'hi' }] };
const messagesBody = { model: 'claude-sonnet-4-5', max_tokens: 5, messages: [{ role: 'user', content: 'hi' }] };
const geminiBody = { contents: [{ role: 'user', parts: [{ text: 'hi' }] }] };

type Target = 'openai' | 'anthropic' | 'gemini';
const targets: Record<Target, { path: string; headers: Record<string, string>; body: unknown }> = {
  openai: { path: '/v1/chat/completions', headers: { authorization: 'Bearer sk-1' }, body: chatBody },
  anthropic: { path: '/v1/messages', headers: { 'x-api-key': 'k', 'anthropic-version': '2023-06-01' }, body: messagesBody },
  gemini: { path: '/v1beta/models/gemini-2.5-flash:generateContent', headers: { 'x-goog-api-key': 'k' }, body: geminiBody },
};

function send(target: Target, scenario?: Scenario, extra: Record<string, string> = {}): Promise<Response> {
  const t = targets[target];
  const headers: Record<string, string> = { 'content-type': 'application/json', ...t.headers, ...extra };
  if (scenario) headers['x-fake-scenario'] = JSON.stringify(scenario);
  return fetch(`${fake.url}${t.path}`, { method: 'POST', headers, body: JSON.stringify(t.body) });
}

describe('provider-shaped errors', () => {
  test.each([
    ['OpenAI 429 is a rate_limit_exceeded error with retry-after', 'openai', 429, { error: { type: 'requests', code: 'rate_limit_exceeded', param: null } }, '1'],
    ['OpenAI 500 is a server_error', 'openai', 500, { error: { type: 'server_error', code: null } }, null],
    ['OpenAI 503 is an overloaded server_error with retry-after', 'openai', 503, { error: { type: 'server_error', message: expect.stringContaining('overloaded') } }, '1'],
    ['OpenAI 400 is an invalid_request_error', 'openai', 400, { error: { type: 'invalid_request_error' } }, null],
    ['Anthropic 429 is rate_limit_error with retry-after', 'anthropic', 429, { type: 'error', error: { type: 'rate_limit_error' }, request_id: expect.stringMatching(/^req_/) }, '1'],
    ['Anthropic 529 is overloaded_error with retry-after', 'anthropic', 529, { type: 'error', error: { type: 'overloaded_error', message: 'Overloaded' } }, '1'],
    ['Anthropic 500 is api_error', 'anthropic', 500, { type: 'error', error: { type: 'api_error' } }, null],
    ['Anthropic 404 is not_found_error', 'anthropic', 404, { type: 'error', error: { type: 'not_found_error' } }, null],
    ['Gemini 503 is UNAVAILABLE', 'gemini', 503, { error: { code: 503, status: 'UNAVAILABLE' } }, null],
    ['Gemini 500 is INTERNAL', 'gemini', 500, { error: { code: 500, status: 'INTERNAL' } }, null],
  ] as const)('%s', async (_title, target, status, shape, retryAfter) => {
    const res = await send(target, { status });
    expect(res.status).toBe(status);
    expect(res.headers.get('content-type')).toMatch(/^application\/json/);
    // Gemini never sends retry-after; its delay is in the body.
    if (target !== 'gemini') expect(res.headers.get('retry-after')).toBe(retryAfter);
    expect(await res.json()).toMatchObject(shape);
  });

  test('errorType and errorMessage replace the defaults', async () => {
    const res = await send('openai', { status: 429, errorType: 'insufficient_quota', errorMessage: 'You exceeded your current quota' });
    expect(await res.json()).toMatchObject({ error: { type: 'insufficient_quota', message: 'You exceeded your current quota' } });
  });

  test('the SDK sees a scenario 429 as RateLimitError', async () => {
    fake.next({ status: 429 });
    const err = await client.chat.completions.create({ model: 'gpt-4o', messages: [{ role: 'user', content: 'x' }] }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(OpenAI.RateLimitError);
  });

  test.each([
    ["a missing 'messages' is 400 naming the param", { model: 'gpt-4o' }, 400, { param: 'messages', code: 'missing_required_parameter' }],
    ['stream_options without stream is 400', { ...chatBody, stream_options: { include_usage: true } }, 400, { param: 'stream_options' }],
    ['an unknown model is 404 model_not_found', { ...chatBody, model: 'unknown-model' }, 404, { code: 'model_not_found' }],
  ] as const)('%s', async (_title, body, status, error) => {
    const res = await fetch(`${fake.url}/v1/chat/completions`, {
      method: 'POST', headers: { authorization: 'Bearer sk-1', 'content-type': 'application/json' }, body: JSON.stringify(body),
    });
    expect(res.status).toBe(status);
    expect(await res.json()).toMatchObject({ error });
  });

  test('an invalid JSON body is 400 and is still recorded raw', async () => {
    const res = await fetch(`${fake.url}/v1/chat/completions`, { method: 'POST', headers: { authorization: 'Bearer k' }, body: '{nope' });
    expect(res.status).toBe(400);
    expect(fake.calls[0]).toMatchObject({ body: null, rawBody: '{nope', status: 400 });
  });

  test('an unknown route is 404 Invalid URL', async () => {
    const res = await fetch(`${fake.url}/v1/nothing`, { method: 'POST', headers: { authorization: 'Bearer k' }, body: '{}' });
    expect(res.status).toBe(404);
    expect(await res.json()).toMatchObject({ error: { message: 'Invalid URL (POST /v1/nothing)' } });
  });
});

describe('keys', () => {
  test.each([
    ['OpenAI answers 401 invalid_api_key', 'openai', { authorization: 'Bearer wrong' }, { error: { code: 'invalid_api_key', type: 'invalid_request_error' } }],
    ['OpenAI answers 401 when no key is sent', 'openai', { authorization: '' }, { error: { type: 'invalid_request_error', message: expect.stringContaining("didn't provide an API key") } }],
    ['Anthropic answers 401 authentication_error', 'anthropic', { 'x-api-key': 'wrong' }, { type: 'error', error: { type: 'authentication_error' } }],
  ] as const)('with validKeys, %s', async (_title, target, headers, shape) => {
    const strict = await startFakeProvider({ validKeys: ['good'] });
    try {
      const t = targets[target];
      const res = await fetch(`${strict.url}${t.path}`, { method: 'POST', headers: { ...t.headers, ...headers }, body: JSON.stringify(t.body) });
      expect(res.status).toBe(401);
      expect(await res.json()).toMatchObject(shape);
      const ok = await fetch(`${strict.url}${t.path}`, {
        method: 'POST', headers: { ...t.headers, ...(target === 'openai' ? { authorization: 'Bearer good' } : { 'x-api-key': 'good' }) }, body: JSON.stringify(t.body),
      });
      expect(ok.status).toBe(200);
    } finally {
      await strict.close();
    }
  });

  test('Azure answers 401 with its own {code,message} body for a wrong api-key', async () => {
    const strict = await startFakeProvider({ validKeys: ['good'] });
    try {
      const res = await fetch(`${strict.url}/openai/deployments/gpt/chat/completions?api-version=2024-10-21`, {
        method: 'POST', headers: { 'api-key': 'bad' }, body: JSON.stringify(chatBody),
      });
      expect(res.status).toBe(401);
      expect(await res.json()).toMatchObject({ error: { code: '401', message: expect.stringContaining('Access denied') } });
    } finally {
      await strict.close();
    }
  });
});

describe('scenarios and recording', () => {
  test('the header beats a queued scenario, which is consumed anyway; the default applies after', async () => {
    fake.setDefault({ text: 'from default' });
    fake.next({ text: 'from queue' });
    const first = await send('openai', { text: 'from header' });
    const second = await send('openai');
    expect(await first.json()).toMatchObject({ choices: [{ message: { content: 'from header' } }] });
    expect(await second.json()).toMatchObject({ choices: [{ message: { content: 'from default' } }] });
    expect(fake.calls.map((c) => c.scenario.text)).toEqual(['from header', 'from default']);
  });

  test('an invalid x-fake-scenario header is a 400 that names the problem', async () => {
    const res = await send('openai', undefined, { 'x-fake-scenario': '{"chunkz":3}' });
    expect(res.status).toBe(400);
    expect(await res.json()).toMatchObject({ error: { type: 'fake_scenario_error', message: 'x-fake-scenario: unknown field chunkz' } });
  });

  test('control routes queue scenarios and expose calls to other processes', async () => {
    await fetch(`${fake.url}/__fake/next`, { method: 'POST', body: JSON.stringify({ text: 'queued remotely' }) });
    const res = await send('openai');
    expect(await res.json()).toMatchObject({ choices: [{ message: { content: 'queued remotely' } }] });
    const calls = (await (await fetch(`${fake.url}/__fake/calls`)).json()) as unknown[];
    expect(calls).toHaveLength(1);
    expect(calls[0]).toMatchObject({ method: 'POST', path: '/v1/chat/completions', status: 200 });
  });

  test('records method, path, query, lower-case headers and the parsed body', async () => {
    await fetch(`${fake.url}/v1beta/models/gemini-2.5-flash:streamGenerateContent?alt=sse`, {
      method: 'POST', headers: { 'X-Goog-Api-Key': 'k', 'Content-Type': 'application/json' }, body: JSON.stringify(geminiBody),
    }).then((r) => r.text());
    expect(fake.calls[0]).toMatchObject({
      method: 'POST', path: '/v1beta/models/gemini-2.5-flash:streamGenerateContent', query: { alt: 'sse' },
      headers: { 'x-goog-api-key': 'k' }, body: geminiBody, rawBody: JSON.stringify(geminiBody), status: 200, aborted: false,
    });
  });
});

describe('broken streams', () => {
  test('dropAfterChunks cuts the socket: the SDK stream fails after exactly N deltas', async () => {
    fake.next({ text: 'a b c d e', dropAfterChunks: 2 });
    const stream = await client.chat.completions.create({ ...chatBody, messages: [{ role: 'user', content: 'x' }], stream: true });
    let text = '';
    const err = await (async () => {
      for await (const c of stream) text += c.choices[0]?.delta.content ?? '';
    })().catch((e: unknown) => e);
    expect(err).toBeInstanceOf(Error);
    expect(text).toBe('a b ');
    expect(fake.calls[0]).toMatchObject({ dropped: true, aborted: false });
  });

  test('a dropped raw stream has no terminating event', async () => {
    const res = await fetch(`${fake.url}/v1/messages`, {
      method: 'POST', headers: { ...targets.anthropic.headers, 'x-fake-scenario': JSON.stringify({ dropAfterChunks: 1 }) },
      body: JSON.stringify({ ...messagesBody, stream: true }),
    });
    const reader = res.body?.getReader();
    let seen = '';
    const err = await (async () => {
      for (;;) {
        const r = await reader?.read();
        if (!r || r.done) return undefined;
        seen += new TextDecoder().decode(r.value);
      }
    })().catch((e: unknown) => e);
    expect(res.status).toBe(200);
    expect(err).toBeInstanceOf(Error);
    expect(seen.match(/event: content_block_delta/g)).toHaveLength(1);
    expect(seen).not.toContain('message_stop');
  });

  test('an OpenAI in-stream error makes the SDK throw an APIError', async () => {
    fake.next({ midStreamError: { afterChunks: 1, message: 'boom' } });
    const stream = await client.chat.completions.create({ ...chatBody, stream: true });
    const err = await (async () => {
      for await (const _ of stream) { /* drain */ }
    })().catch((e: unknown) => e);
    expect(err).toBeInstanceOf(OpenAI.APIError);
    expect(String(err)).toContain('boom');
  });

  test('a client abort mid-stream stops the writer and is counted', async () => {
    fake.next({ chunkDelayMs: 50, chunks: 20, text: 'w '.repeat(20) });
    const ac = new AbortController();
    const res = await fetch(`${fake.url}/v1/chat/completions`, {
      method: 'POST', headers: targets.openai.headers, body: JSON.stringify({ ...chatBody, stream: true }), signal: ac.signal,
    });
    const reader = res.body?.getReader();
    await reader?.read();
    ac.abort();
    await vi.waitFor(() => expect(fake.aborted()).toBe(1));
    expect(fake.calls[0]).toMatchObject({ aborted: true, dropped: false, status: 200 });
  });

  test('hangMs delays the headers past a client timeout', async () => {
    fake.next({ hangMs: 5000 });
    const impatient = new OpenAI({ apiKey: 'k', baseURL: `${fake.url}/v1`, maxRetries: 0, timeout: 100 });
    const err = await impatient.chat.completions.create({ model: 'gpt-4o', messages: [{ role: 'user', content: 'x' }] }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(OpenAI.APIConnectionTimeoutError);
    await vi.waitFor(() => expect(fake.calls[0]?.aborted).toBe(true));
    expect(fake.calls[0]?.status).toBe(0);
  });

  test('close() ends open streams and leaves no connection open', async () => {
    const own = await startFakeProvider({ chunkDelayMs: 1000 });
    const res = await fetch(`${own.url}/v1/chat/completions`, {
      method: 'POST', headers: targets.openai.headers, body: JSON.stringify({ ...chatBody, stream: true }),
    });
    expect(own.openConnections()).toBe(1);
    const reading = res.text().catch((e: unknown) => e);
    await own.close();
    expect(await reading).toBeInstanceOf(Error);
    expect(own.openConnections()).toBe(0);
  });
});
