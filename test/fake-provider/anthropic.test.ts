/**
 * The fake's Anthropic Messages API checked with the official `@anthropic-ai/sdk` as client.
 */
import Anthropic from '@anthropic-ai/sdk';
import { afterAll, beforeAll, beforeEach, describe, expect, test } from 'vitest';
import { FAKE_THINKING, thinkingSignature } from './anthropic.ts';
import { startFakeProvider, type FakeProvider } from './index.ts';

let fake: FakeProvider;
let client: Anthropic;

beforeAll(async () => {
  fake = await startFakeProvider();
  client = new Anthropic({ apiKey: 'sk-ant-test', baseURL: fake.url, maxRetries: 0 });
});
afterAll(async () => {
  await fake.close();
});
beforeEach(() => fake.reset());

const weatherTool = { name: 'get_weather', input_schema: { type: 'object' as const, properties: { city: { type: 'string' } } } };

describe('anthropic messages', () => {
  test('answers a message with text, end_turn and word-counted usage', async () => {
    const m = await client.messages.create({
      model: 'claude-sonnet-4-5', max_tokens: 100, system: 'be kind', messages: [{ role: 'user', content: 'hi there' }],
    });
    expect(m).toMatchObject({ type: 'message', role: 'assistant', model: 'claude-sonnet-4-5', stop_reason: 'end_turn' });
    expect(m.content).toEqual([{ type: 'text', text: 'Hello from fake claude-sonnet-4-5' }]);
    expect(m.usage).toMatchObject({ input_tokens: 4, output_tokens: 4, cache_read_input_tokens: 0, cache_creation_input_tokens: 0 });
    expect(fake.calls[0]?.headers['x-api-key']).toBe('sk-ant-test');
    expect(fake.calls[0]?.headers['anthropic-version']).toBe('2023-06-01');
  });

  test('reports cache reads and writes apart from input_tokens', async () => {
    fake.next({ usage: { cachedTokens: 100, cacheWriteTokens: 20 } });
    const m = await client.messages.create({ model: 'claude-sonnet-4-5', max_tokens: 10, messages: [{ role: 'user', content: 'a b c' }] });
    expect(m.usage).toMatchObject({ input_tokens: 3, cache_read_input_tokens: 100, cache_creation_input_tokens: 20 });
  });

  test('answers tool_use when tools are offered and the scenario asks', async () => {
    fake.next({ toolCall: { name: 'get_weather', arguments: { city: 'Paris' } } });
    const m = await client.messages.create({
      model: 'claude-sonnet-4-5', max_tokens: 100, tools: [weatherTool], messages: [{ role: 'user', content: 'weather?' }],
    });
    expect(m.stop_reason).toBe('tool_use');
    expect(m.content).toEqual([{ type: 'tool_use', id: expect.stringMatching(/^toolu_/), name: 'get_weather', input: { city: 'Paris' } }]);
  });

  test('messages.stream() assembles text from text_delta events', async () => {
    fake.next({ text: 'one two three', chunks: 3 });
    const stream = client.messages.stream({ model: 'claude-sonnet-4-5', max_tokens: 100, messages: [{ role: 'user', content: 'count' }] });
    const events: string[] = [];
    stream.on('streamEvent', (e) => events.push(e.type));
    const final = await stream.finalMessage();
    expect(final.content).toEqual([{ type: 'text', text: 'one two three' }]);
    expect(final.usage).toMatchObject({ input_tokens: 1, output_tokens: 3 });
    // The SDK hides `ping`; the raw wire order is checked below.
    expect(events).toEqual([
      'message_start', 'content_block_start', 'content_block_delta', 'content_block_delta', 'content_block_delta',
      'content_block_stop', 'message_delta', 'message_stop',
    ]);
  });

  test('the stream on the wire names each event and repeats the name as data.type', async () => {
    fake.next({ text: 'one two' });
    const res = await fetch(`${fake.url}/v1/messages`, {
      method: 'POST', headers: { 'x-api-key': 'k', 'anthropic-version': '2023-06-01', 'content-type': 'application/json' },
      body: JSON.stringify({ model: 'claude-sonnet-4-5', max_tokens: 5, stream: true, messages: [{ role: 'user', content: 'hi' }] }),
    });
    expect(res.headers.get('content-type')).toBe('text/event-stream; charset=utf-8');
    expect(res.headers.get('request-id')).toMatch(/^req_/);
    const frames = (await res.text()).split('\n\n').filter(Boolean).map((f) => {
      const [event, data] = f.split('\n');
      return { event: event?.replace('event: ', ''), type: JSON.parse(data?.replace('data: ', '') ?? '{}').type };
    });
    expect(frames.map((f) => f.event)).toEqual([
      'message_start', 'content_block_start', 'ping', 'content_block_delta', 'content_block_delta',
      'content_block_stop', 'message_delta', 'message_stop',
    ]);
    expect(frames.every((f) => f.event === f.type)).toBe(true);
  });

  test('messages.stream() assembles tool input split over several input_json_delta pieces', async () => {
    fake.next({ text: 'Let me check.', toolCall: { name: 'get_weather', arguments: { city: 'Paris', unit: 'celsius' } } });
    const stream = client.messages.stream({
      model: 'claude-sonnet-4-5', max_tokens: 100, tools: [weatherTool], messages: [{ role: 'user', content: 'weather?' }],
    });
    const pieces: string[] = [];
    stream.on('inputJson', (partial) => pieces.push(partial));
    const final = await stream.finalMessage();
    expect(pieces.length).toBeGreaterThan(1);
    expect(final.stop_reason).toBe('tool_use');
    expect(final.content[0]).toEqual({ type: 'text', text: 'Let me check.' });
    expect(final.content[1]).toMatchObject({ type: 'tool_use', name: 'get_weather', input: { city: 'Paris', unit: 'celsius' } });
  });

  test('with thinking on, answers a signed thinking block first, in messages and in streams', async () => {
    fake.next({ toolCall: { name: 'get_weather', arguments: { city: 'Paris' } } });
    const params = {
      model: 'claude-sonnet-4-5', max_tokens: 4000, thinking: { type: 'enabled' as const, budget_tokens: 2000 }, tools: [weatherTool],
      messages: [{ role: 'user' as const, content: 'weather?' }],
    };
    const m = await client.messages.create(params);
    expect(m.content[0]).toEqual({ type: 'thinking', thinking: FAKE_THINKING, signature: thinkingSignature(FAKE_THINKING) });
    expect(m.content[1]).toMatchObject({ type: 'tool_use', name: 'get_weather' });

    fake.next({ toolCall: { name: 'get_weather', arguments: { city: 'Paris' } } });
    const streamed = await client.messages.stream(params).finalMessage();
    // the SDK assembles thinking_delta pieces and the signature_delta into the same block
    expect(streamed.content[0]).toEqual(m.content[0]);
  });

  test('with thinking on, refuses tool use history whose assistant turn lacks its thinking or carries a wrong signature', async () => {
    const turn = (content: Anthropic.ContentBlockParam[]) => client.messages.create({
      model: 'claude-sonnet-4-5', max_tokens: 4000, thinking: { type: 'enabled', budget_tokens: 2000 }, tools: [weatherTool],
      messages: [
        { role: 'user', content: 'weather?' },
        { role: 'assistant', content },
        { role: 'user', content: [{ type: 'tool_result', tool_use_id: 'toolu_1', content: 'sunny' }] },
      ],
    });
    const call = { type: 'tool_use' as const, id: 'toolu_1', name: 'get_weather', input: { city: 'Paris' } };
    await expect(turn([call])).rejects.toMatchObject({ status: 400, error: { error: { type: 'invalid_request_error', message: expect.stringContaining('Expected `thinking` or `redacted_thinking`, but found `tool_use`') } } });
    await expect(turn([{ type: 'thinking', thinking: FAKE_THINKING, signature: 'forged' }, call])).rejects.toMatchObject({ status: 400 });
    const ok = await turn([{ type: 'thinking', thinking: FAKE_THINKING, signature: thinkingSignature(FAKE_THINKING) }, call]);
    expect(ok.stop_reason).toBe('end_turn');
  });

  test('counts tokens of a message', async () => {
    const r = await client.messages.countTokens({ model: 'claude-sonnet-4-5', messages: [{ role: 'user', content: 'one two' }] });
    expect(r).toEqual({ input_tokens: 2 });
  });

  test('lists models in Anthropic shape', async () => {
    const page = await client.models.list();
    expect(page.data[0]).toMatchObject({ type: 'model', id: 'claude-sonnet-4-5' });
  });

  test('retrieves one model in Anthropic shape, and a model that does not exist is 404 not_found_error', async () => {
    expect(await client.models.retrieve('claude-opus-4-1')).toEqual({
      type: 'model', id: 'claude-opus-4-1', display_name: 'claude-opus-4-1', created_at: '2025-02-19T00:00:00Z',
    });
    expect(fake.calls[0]).toMatchObject({ method: 'GET', path: '/v1/models/claude-opus-4-1' });
    const err = await client.models.retrieve('unknown-claude').catch((e: unknown) => e);
    expect(err).toBeInstanceOf(Anthropic.NotFoundError);
    expect(err).toMatchObject({ status: 404, error: { type: 'error', error: { type: 'not_found_error', message: 'model: unknown-claude' } } });
  });
});

describe('anthropic errors', () => {
  test('a missing anthropic-version header is 400 invalid_request_error', async () => {
    const res = await fetch(`${fake.url}/v1/messages`, {
      method: 'POST', headers: { 'x-api-key': 'k', 'content-type': 'application/json' },
      body: JSON.stringify({ model: 'claude-sonnet-4-5', max_tokens: 5, messages: [{ role: 'user', content: 'hi' }] }),
    });
    expect(res.status).toBe(400);
    expect(await res.json()).toMatchObject({ type: 'error', error: { type: 'invalid_request_error', message: 'anthropic-version: header is required' } });
  });

  test('a missing max_tokens is 400 naming the field', async () => {
    const err = await client.messages.create({ model: 'claude-sonnet-4-5', messages: [{ role: 'user', content: 'hi' }] } as unknown as Anthropic.MessageCreateParamsNonStreaming).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(Anthropic.BadRequestError);
    expect(err instanceof Anthropic.APIError && err.error).toMatchObject({ type: 'error', error: { message: 'max_tokens: Field required' } });
  });

  test('529 overloaded_error reaches the SDK with its type', async () => {
    fake.next({ status: 529 });
    const err = await client.messages.create({ model: 'claude-sonnet-4-5', max_tokens: 5, messages: [{ role: 'user', content: 'hi' }] }).catch((e: unknown) => e);
    expect(err instanceof Anthropic.APIError && err.status).toBe(529);
    expect(err instanceof Anthropic.APIError && err.error).toMatchObject({ type: 'error', error: { type: 'overloaded_error' } });
    expect(err instanceof Anthropic.APIError && err.headers.get('retry-after')).toBe('1');
  });

  test('an in-stream error event makes the SDK stream fail', async () => {
    fake.next({ midStreamError: { afterChunks: 1 } });
    const stream = client.messages.stream({ model: 'claude-sonnet-4-5', max_tokens: 5, messages: [{ role: 'user', content: 'hi' }] });
    const err = await stream.finalMessage().catch((e: unknown) => e);
    expect(err).toBeInstanceOf(Anthropic.APIError);
    expect(String(err)).toContain('Overloaded');
  });
});

describe('anthropic context window', () => {
  test('a prompt beyond the scenario window is refused as Anthropic does: 400 "prompt is too long"', async () => {
    fake.next({ contextWindow: 3 });
    const err = (await client.messages
      .create({ model: 'claude-sonnet-4-5', max_tokens: 10, messages: [{ role: 'user', content: 'one two three four' }] })
      .catch((e: unknown) => e)) as InstanceType<typeof Anthropic.BadRequestError>;
    expect(err).toBeInstanceOf(Anthropic.BadRequestError);
    expect(err.error).toMatchObject({ type: 'error', error: { type: 'invalid_request_error', message: 'prompt is too long: 4 tokens > 3 maximum' } });
  });
});
