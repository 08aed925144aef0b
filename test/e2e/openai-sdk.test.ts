import OpenAI from 'openai';
import { afterAll, beforeAll, beforeEach, describe, expect, test } from 'vitest';
import { last, startStack, type Stack } from './harness.ts';

let s: Stack;
let client: OpenAI;

beforeAll(async () => {
  s = await startStack();
  client = new OpenAI({ baseURL: `${s.url}/v1`, apiKey: 'sk-test-openai-key', maxRetries: 0 });
});
afterAll(() => s.close());
beforeEach(() => {
  s.fake.reset();
  s.events.length = 0;
});

describe('the official openai SDK, with only baseURL changed', () => {
  test('chat completion comes back as the provider sent it, with request id and server-timing', async () => {
    const { data, response } = await client.chat.completions
      .create({ model: 'gpt-4o-mini', messages: [{ role: 'user', content: 'Say hello to me' }] })
      .withResponse();
    expect(data.object).toBe('chat.completion');
    expect(data.choices[0]?.message.content).toBe('Hello from fake gpt-4o-mini');
    expect(data.usage?.prompt_tokens).toBe(4);
    const id = response.headers.get('x-watchllm-request-id');
    expect(id).toMatch(/^[0-9a-f-]{36}$/);
    expect(response.headers.get('server-timing')).toMatch(/^gateway;dur=\d+\.\d+, upstream;dur=\d+\.\d+$/);

    const [x] = await s.waitForEvents(1);
    expect(x).toMatchObject({ id, outcome: 'success', route: { provider: 'openai', model: 'gpt-4o-mini' } });
    expect(x!.response).toMatchObject({ status: 200, usageSource: 'provider', finishReason: 'stop' });
    expect(x!.response.usage).toMatchObject({ promptTokens: 4, completionTokens: 4 });
  });

  test('the provider key is forwarded as is and only its fingerprint is recorded', async () => {
    await client.chat.completions.create({ model: 'gpt-4o-mini', messages: [{ role: 'user', content: 'hi' }] });
    expect(s.fake.calls[0]?.headers['authorization']).toBe('Bearer sk-test-openai-key');
    const x = (await s.waitForEvents(1))[0]!;
    expect(x.auth).toMatchObject({ mode: 'byok', providerKeyFingerprint: expect.stringMatching(/^[0-9a-f]{12}$/) });
    expect(JSON.stringify(x)).not.toContain('sk-test-openai-key');
  });

  test('gateway metadata headers are captured and never forwarded', async () => {
    await client.chat.completions.create(
      { model: 'gpt-4o-mini', messages: [{ role: 'user', content: 'hi' }] },
      { headers: { 'x-watchllm-user': 'alice', 'x-watchllm-session': 's-1', 'x-watchllm-property-team': 'search' } },
    );
    const x = (await s.waitForEvents(1))[0]!;
    expect(x.meta).toEqual({ user: 'alice', session: 's-1', traceId: null, spanId: null, properties: { team: 'search' } });
    const sent = Object.keys(s.fake.calls[0]!.headers);
    expect(sent.filter((h) => h.startsWith('x-watchllm'))).toEqual([]);
  });

  test('streaming without include_usage: chunks arrive, no usage chunk reaches the client, usage is still recorded', async () => {
    s.fake.next({ text: 'one two three four', chunks: 4 });
    const stream = await client.chat.completions.create({
      model: 'gpt-4o-mini',
      stream: true,
      messages: [{ role: 'user', content: 'count to four' }],
    });
    const pieces: string[] = [];
    let sawUsage = false;
    for await (const chunk of stream) {
      if (chunk.usage) sawUsage = true;
      pieces.push(chunk.choices[0]?.delta.content ?? '');
    }
    expect(pieces.join('')).toBe('one two three four');
    expect(sawUsage).toBe(false);
    // The gateway asked the provider for usage on the client's behalf.
    expect(s.fake.calls[0]?.body).toMatchObject({ stream: true, stream_options: { include_usage: true } });
    const x = (await s.waitForEvents(1))[0]!;
    expect(x.response).toMatchObject({ usageSource: 'provider', finishReason: 'stop' });
    expect(x.response.usage).toMatchObject({ promptTokens: 3, completionTokens: 4 });
    expect(x.response.firstByteAt).not.toBeNull();
  });

  test('streaming with include_usage: the client gets the usage chunk it asked for', async () => {
    const stream = await client.chat.completions.create({
      model: 'gpt-4o-mini',
      stream: true,
      stream_options: { include_usage: true },
      messages: [{ role: 'user', content: 'hi there' }],
    });
    let usage: OpenAI.CompletionUsage | null | undefined;
    for await (const chunk of stream) if (chunk.usage) usage = chunk.usage;
    expect(usage).toMatchObject({ prompt_tokens: 2, completion_tokens: 4, total_tokens: 6 });
  });

  test('a stream without provider usage is estimated once with tiktoken and marked as an estimate', async () => {
    s.fake.next({ omitUsage: true, text: 'alpha beta gamma' });
    const stream = await client.chat.completions.create({ model: 'gpt-4o-mini', stream: true, messages: [{ role: 'user', content: 'hello world' }] });
    for await (const _ of stream) void _;
    const x = (await s.waitForEvents(1))[0]!;
    expect(x.response.usageSource).toBe('estimate');
    expect(x.response.usage?.completionTokens).toBeGreaterThanOrEqual(3);
    expect(x.response.usage?.promptTokens).toBeGreaterThanOrEqual(2);
  });

  test('embeddings', async () => {
    const r = await client.embeddings.create({ model: 'text-embedding-3-small', input: ['a b', 'c'] });
    expect(r.data).toHaveLength(2);
    expect(r.data[0]?.embedding.length).toBeGreaterThan(0);
    expect((await s.waitForEvents(1))[0]!.response.usage?.promptTokens).toBe(3);
  });

  test('models list', async () => {
    const page = await client.models.list();
    expect(page.data.map((m) => m.id)).toContain('gpt-4o-mini');
    expect(s.fake.calls[0]).toMatchObject({ method: 'GET', path: '/v1/models' });
  });

  test('responses, plain and streamed', async () => {
    const r = await client.responses.create({ model: 'gpt-4o-mini', input: 'write one line' });
    expect(r.output_text).toBe('Hello from fake gpt-4o-mini');
    const stream = await client.responses.create({ model: 'gpt-4o-mini', input: 'write one line', stream: true });
    let text = '';
    let completed = false;
    for await (const ev of stream) {
      if (ev.type === 'response.output_text.delta') text += ev.delta;
      if (ev.type === 'response.completed') completed = true;
    }
    expect(text).toBe('Hello from fake gpt-4o-mini');
    expect(completed).toBe(true);
    const [a, b] = await s.waitForEvents(2);
    expect(a!.response.usage).toMatchObject({ promptTokens: 3 });
    expect(b!.response).toMatchObject({ usageSource: 'provider', finishReason: 'completed' });
    expect(b!.response.usage).toMatchObject({ promptTokens: 3, completionTokens: 4 });
  });

  test('legacy completions', async () => {
    const r = await client.completions.create({ model: 'gpt-3.5-turbo-instruct', prompt: 'once upon' });
    expect(r.choices[0]?.text).toContain('Hello from fake');
  });
});
