import { describe, expect, test } from 'vitest';
import { TranslationError, type ProviderRequest, type SseEvent } from '../types.ts';
import { anthropicProvider, anthropicUsage, createAnthropicUsageAccumulator } from './index.ts';

const target = { baseUrl: 'https://api.anthropic.com' };
const ctx = { model: 'claude-sonnet-4-5', id: 'chatcmpl-1', created: 1700000000, includeUsage: false };

function req(over: Partial<ProviderRequest>): ProviderRequest {
  return {
    endpoint: 'chat',
    body: { model: 'anthropic/claude-sonnet-4-5', messages: [{ role: 'user', content: 'Hi' }] },
    model: 'claude-sonnet-4-5',
    stream: false,
    apiKey: 'sk-ant-test',
    passHeaders: {},
    ...over,
  };
}

describe('anthropicProvider.buildRequest', () => {
  test('translates an OpenAI chat body and posts it to /v1/messages with Anthropic auth headers', () => {
    const up = anthropicProvider.buildRequest(req({}), target);
    expect(up.url).toBe('https://api.anthropic.com/v1/messages');
    expect(up.method).toBe('POST');
    expect(up.headers).toEqual({ 'content-type': 'application/json', 'x-api-key': 'sk-ant-test', 'anthropic-version': '2023-06-01' });
    expect(JSON.parse(up.body ?? '')).toEqual({ model: 'claude-sonnet-4-5', max_tokens: 4096, messages: [{ role: 'user', content: 'Hi' }] });
  });

  test.each([
    { title: 'strips a trailing slash from baseUrl', baseUrl: 'http://127.0.0.1:9999/', url: 'http://127.0.0.1:9999/v1/messages' },
    { title: 'keeps a path prefix in baseUrl', baseUrl: 'https://proxy.example/anthropic', url: 'https://proxy.example/anthropic/v1/messages' },
  ] as const)('$title', ({ baseUrl, url }) => {
    expect(anthropicProvider.buildRequest(req({}), { baseUrl }).url).toBe(url);
  });

  test.each([
    { title: 'a client anthropic-version wins over the target default', pass: [['anthropic-version', '2024-01-01']], apiVersion: '2023-01-01', version: '2024-01-01', beta: undefined },
    { title: 'the target apiVersion is used when the client sent none', pass: [], apiVersion: '2023-01-01', version: '2023-01-01', beta: undefined },
    { title: 'anthropic-beta is passed through', pass: [['anthropic-beta', 'prompt-caching-2024-07-31']], apiVersion: undefined, version: '2023-06-01', beta: 'prompt-caching-2024-07-31' },
  ] as const)('$title', ({ pass, apiVersion, version, beta }) => {
    const t = apiVersion === undefined ? target : { ...target, apiVersion };
    const h = anthropicProvider.buildRequest(req({ passHeaders: Object.fromEntries(pass) }), t).headers;
    expect(h['anthropic-version']).toBe(version);
    expect(h['anthropic-beta']).toBe(beta);
  });

  test('says when it sends a tool-use continuation without the thinking the client asked for', () => {
    const call = { id: 't1', type: 'function', function: { name: 'f', arguments: '{}' } };
    const messages = [{ role: 'user', content: 'Hi' }, { role: 'assistant', content: '', tool_calls: [call] }, { role: 'tool', tool_call_id: 't1', content: 'ok' }];
    const dropped = anthropicProvider.buildRequest(req({ body: { messages, reasoning_effort: 'low' } }), target);
    expect(dropped.thinkingDropped).toBe(true);
    expect(JSON.parse(dropped.body ?? '')).not.toHaveProperty('thinking');
    const kept = anthropicProvider.buildRequest(req({ body: { messages: [{ role: 'user', content: 'Hi' }], reasoning_effort: 'low' } }), target);
    expect(kept).not.toHaveProperty('thinkingDropped');
    expect(JSON.parse(kept.body ?? '')).toMatchObject({ thinking: { type: 'enabled' } });
  });

  test('sends stream:true upstream exactly when the gateway streams', () => {
    const streamed = anthropicProvider.buildRequest(req({ stream: true, body: { messages: [{ role: 'user', content: 'Hi' }], stream: true } }), target);
    expect(JSON.parse(streamed.body ?? '')).toMatchObject({ stream: true });
    const plain = anthropicProvider.buildRequest(req({ body: { messages: [{ role: 'user', content: 'Hi' }], stream: false } }), target);
    expect(JSON.parse(plain.body ?? '')).not.toHaveProperty('stream');
  });

  test('passes a native messages body through with only the model replaced, unknown fields kept', () => {
    const body = { model: 'alias', max_tokens: 10, messages: [{ role: 'user', content: 'Hi' }], container: { id: 'c1' }, stream: true };
    const up = anthropicProvider.buildRequest(req({ endpoint: 'messages', body, stream: true }), target);
    expect(up.url).toBe('https://api.anthropic.com/v1/messages');
    expect(JSON.parse(up.body ?? '')).toEqual({ ...body, model: 'claude-sonnet-4-5' });
  });

  test('refuses endpoints Anthropic does not serve', () => {
    expect(() => anthropicProvider.buildRequest(req({ endpoint: 'embeddings' }), target)).toThrow(TranslationError);
    expect([...anthropicProvider.endpoints].sort()).toEqual(['chat', 'count_tokens', 'messages', 'models']);
  });

  test('count_tokens and models are native Anthropic endpoints', () => {
    const count = anthropicProvider.buildRequest(req({ endpoint: 'count_tokens', body: { model: 'x', messages: [] } }), target);
    expect(count).toMatchObject({ method: 'POST', url: `${target.baseUrl}/v1/messages/count_tokens` });
    expect(JSON.parse(count.body!)).toEqual({ model: 'claude-sonnet-4-5', messages: [] });
    const models = anthropicProvider.buildRequest(req({ endpoint: 'models', model: '', passHeaders: { 'anthropic-version': '2023-06-01' } }), target);
    expect(models).toMatchObject({ method: 'GET', url: `${target.baseUrl}/v1/models` });
    expect(models.body).toBeUndefined();
    expect(models.headers['anthropic-version']).toBe('2023-06-01');
  });
});

describe('anthropicProvider.toOpenaiResponse', () => {
  test('translates a Message body for chat', () => {
    const body = { id: 'msg_1', type: 'message', role: 'assistant', model: 'c', content: [{ type: 'text', text: 'Hi' }], stop_reason: 'end_turn', stop_sequence: null, usage: { input_tokens: 3, output_tokens: 1 } };
    expect(anthropicProvider.toOpenaiResponse?.('chat', body, ctx)).toMatchObject({
      id: 'chatcmpl-1',
      object: 'chat.completion',
      choices: [{ message: { content: 'Hi' }, finish_reason: 'stop' }],
      usage: { prompt_tokens: 3, completion_tokens: 1, total_tokens: 4 },
    });
  });

  test('fails loudly on a body that is not a Message', () => {
    expect(() => anthropicProvider.toOpenaiResponse?.('chat', { hello: 'world' }, ctx)).toThrow(/not a Message/);
  });
});

describe('anthropicUsage', () => {
  test('normalises a Message usage including cache read and write', () => {
    const body = { usage: { input_tokens: 10, output_tokens: 4, cache_read_input_tokens: 50, cache_creation_input_tokens: 20 } };
    expect(anthropicUsage(body)).toEqual({ promptTokens: 80, completionTokens: 4, cachedTokens: 50, cacheWriteTokens: 20, reasoningTokens: 0 });
  });

  test('keeps the 1-hour cache writes of cache_creation apart (priced at 2x input, 5-minute ones at 1.25x)', () => {
    const usage = {
      input_tokens: 10, output_tokens: 4, cache_read_input_tokens: 0, cache_creation_input_tokens: 100_000,
      cache_creation: { ephemeral_5m_input_tokens: 0, ephemeral_1h_input_tokens: 100_000 },
    };
    expect(anthropicUsage({ usage })).toMatchObject({ promptTokens: 100_010, cacheWriteTokens: 100_000, cacheWrite1hTokens: 100_000 });
    // only 5-minute writes: nothing to tell apart
    expect(anthropicUsage({ usage: { ...usage, cache_creation: { ephemeral_5m_input_tokens: 100_000, ephemeral_1h_input_tokens: 0 } } }))
      .not.toHaveProperty('cacheWrite1hTokens');
    // a split above the total (inconsistent usage) never prices more writes than were made
    expect(anthropicUsage({ usage: { ...usage, cache_creation_input_tokens: 10 } })).toMatchObject({ cacheWriteTokens: 10, cacheWrite1hTokens: 10 });
  });

  test.each([
    { title: 'returns null for an error body', body: { type: 'error', error: { type: 'api_error', message: 'x' } } },
    { title: 'returns null for a non-object', body: 'text' },
  ] as const)('$title', ({ body }) => {
    expect(anthropicUsage(body)).toBeNull();
  });

  test('reads null input counts (merged stream usage) as 0', () => {
    expect(anthropicUsage({ usage: { input_tokens: null, output_tokens: 9 } })).toMatchObject({ promptTokens: 0, completionTokens: 9 });
  });
});

describe('createAnthropicUsageAccumulator', () => {
  const ev = (type: string, rest: object): SseEvent => ({ event: type, data: JSON.stringify({ type, ...rest }) });

  test('takes input from message_start and cumulative output and stop reason from message_delta', () => {
    const acc = createAnthropicUsageAccumulator();
    expect(acc.usage()).toBeNull();
    acc.push(ev('message_start', { message: { id: 'm', model: 'c', usage: { input_tokens: 30, output_tokens: 1, cache_read_input_tokens: 70 } } }));
    acc.push(ev('content_block_delta', { index: 0, delta: { type: 'text_delta', text: 'x' } }));
    acc.push(ev('message_delta', { delta: { stop_reason: 'tool_use', stop_sequence: null }, usage: { output_tokens: 15 } }));
    acc.push(ev('message_stop', {}));
    expect(acc.usage()).toEqual({ promptTokens: 100, completionTokens: 15, cachedTokens: 70, cacheWriteTokens: 0, reasoningTokens: 0 });
    expect(acc.stopReason()).toBe('tool_use');
  });

  test("keeps message_start's 1-hour cache writes through message_delta", () => {
    const acc = createAnthropicUsageAccumulator();
    const usage = { input_tokens: 3, output_tokens: 1, cache_creation_input_tokens: 40, cache_creation: { ephemeral_5m_input_tokens: 10, ephemeral_1h_input_tokens: 30 } };
    acc.push(ev('message_start', { message: { id: 'm', model: 'c', usage } }));
    acc.push(ev('message_delta', { delta: { stop_reason: 'end_turn', stop_sequence: null }, usage: { output_tokens: 5, cache_creation_input_tokens: 40 } }));
    expect(acc.usage()).toMatchObject({ promptTokens: 43, completionTokens: 5, cacheWriteTokens: 40, cacheWrite1hTokens: 30 });
  });

  test('ignores unreadable events instead of breaking the stream it watches', () => {
    const acc = createAnthropicUsageAccumulator();
    acc.push({ event: 'message_start', data: '{oops' });
    acc.push({ data: JSON.stringify({ type: 'message_delta', delta: { stop_reason: 'end_turn' }, usage: { output_tokens: 2 } }) });
    expect(acc.usage()).toEqual({ promptTokens: 0, completionTokens: 2, cachedTokens: 0, cacheWriteTokens: 0, reasoningTokens: 0 });
    expect(acc.stopReason()).toBe('end_turn');
  });
});

describe('anthropicProvider.toError', () => {
  test('maps an Anthropic error body', () => {
    expect(anthropicProvider.toError(429, { type: 'error', error: { type: 'rate_limit_error', message: 'slow down' } })).toEqual({
      message: 'slow down',
      type: 'rate_limit_error',
      code: 'rate_limit_error',
      param: null,
    });
  });
});
