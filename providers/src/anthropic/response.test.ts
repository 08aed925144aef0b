import { describe, expect, test } from 'vitest';
import { usageFromOpenai } from '../usage.ts';
import { anthropicErrorToInfo } from './errors.ts';
import { toOpenaiChat } from './response.ts';
import { AnthropicResponseSchema } from './types.ts';

const ctx = { model: 'claude-sonnet-4-5', id: 'chatcmpl-test', created: 1700000000, includeUsage: false };
const usage = { input_tokens: 10, output_tokens: 5 };

/** Parses like the provider does, so tests also cover the response schema. */
function translate(content: unknown[], stop_reason: string | null = 'end_turn', u: object = usage) {
  const body = AnthropicResponseSchema.parse({
    id: 'msg_1',
    type: 'message',
    role: 'assistant',
    model: 'claude-sonnet-4-5-20250929',
    content,
    stop_reason,
    stop_sequence: null,
    usage: u,
  });
  return toOpenaiChat(body, ctx);
}

describe('toOpenaiChat', () => {
  test('builds a chat.completion with the context id, time and requested model', () => {
    expect(translate([{ type: 'text', text: 'Hello!' }])).toEqual({
      id: 'chatcmpl-test',
      object: 'chat.completion',
      created: 1700000000,
      model: 'claude-sonnet-4-5',
      choices: [
        { index: 0, message: { role: 'assistant', content: 'Hello!', refusal: null }, logprobs: null, finish_reason: 'stop' },
      ],
      usage: {
        prompt_tokens: 10,
        completion_tokens: 5,
        total_tokens: 15,
        prompt_tokens_details: { cached_tokens: 0 },
        cache_creation_input_tokens: 0,
      },
    });
  });

  test('turns parallel tool_use blocks into tool_calls with ids kept and content null', () => {
    const out = translate(
      [
        { type: 'tool_use', id: 'toolu_1', name: 'get_weather', input: { city: 'Paris' } },
        { type: 'tool_use', id: 'toolu_2', name: 'get_weather', input: { city: 'Rome', units: ['c'] } },
      ],
      'tool_use',
    );
    expect(out.choices[0]?.finish_reason).toBe('tool_calls');
    expect(out.choices[0]?.message).toEqual({
      role: 'assistant',
      content: null,
      refusal: null,
      tool_calls: [
        { id: 'toolu_1', type: 'function', function: { name: 'get_weather', arguments: '{"city":"Paris"}' } },
        { id: 'toolu_2', type: 'function', function: { name: 'get_weather', arguments: '{"city":"Rome","units":["c"]}' } },
      ],
    });
  });

  test('joins text blocks, puts thinking in reasoning_content, keeps every thinking block to send back and skips server blocks', () => {
    const out = translate([
      { type: 'thinking', thinking: 'Let me think.', signature: 'sig' },
      { type: 'redacted_thinking', data: 'xxx' },
      { type: 'text', text: 'Part one, ' },
      { type: 'server_tool_use', id: 's1', name: 'web_search', input: {} },
      { type: 'text', text: 'part two.' },
    ]);
    expect(out.choices[0]?.message).toEqual({
      role: 'assistant',
      content: 'Part one, part two.',
      reasoning_content: 'Let me think.',
      thinking_blocks: [
        { type: 'thinking', thinking: 'Let me think.', signature: 'sig' },
        { type: 'redacted_thinking', data: 'xxx' },
      ],
      refusal: null,
    });
  });

  test.each([
    ['end_turn', 'stop'],
    ['stop_sequence', 'stop'],
    ['pause_turn', 'stop'],
    ['max_tokens', 'length'],
    ['model_context_window_exceeded', 'length'],
    ['tool_use', 'tool_calls'],
    ['refusal', 'content_filter'],
    ['some_future_reason', 'stop'],
  ] as const)('maps stop_reason %s to finish_reason %s', (stop, finish) => {
    expect(translate([{ type: 'text', text: 'x' }], stop).choices[0]?.finish_reason).toBe(finish);
  });

  test('counts cache reads and writes into prompt_tokens and reports each', () => {
    const out = translate([{ type: 'text', text: 'x' }], 'end_turn', {
      input_tokens: 20,
      output_tokens: 7,
      cache_read_input_tokens: 1000,
      cache_creation_input_tokens: 300,
    });
    expect(out.usage).toEqual({
      prompt_tokens: 1320,
      completion_tokens: 7,
      total_tokens: 1327,
      prompt_tokens_details: { cached_tokens: 1000 },
      cache_creation_input_tokens: 300,
    });
  });

  test('keeps 1-hour cache writes apart, so the gateway prices them at 2x input instead of 1.25x', () => {
    const out = translate([{ type: 'text', text: 'x' }], 'end_turn', {
      input_tokens: 20,
      output_tokens: 7,
      cache_read_input_tokens: 0,
      cache_creation_input_tokens: 300,
      cache_creation: { ephemeral_5m_input_tokens: 100, ephemeral_1h_input_tokens: 200 },
    });
    expect(out.usage).toMatchObject({
      prompt_tokens: 320,
      cache_creation_input_tokens: 300,
      cache_creation: { ephemeral_5m_input_tokens: 100, ephemeral_1h_input_tokens: 200 },
    });
    // what the gateway reads back from the translated answer
    expect(usageFromOpenai(out.usage)).toEqual({
      promptTokens: 320, completionTokens: 7, cachedTokens: 0, cacheWriteTokens: 300, cacheWrite1hTokens: 200, reasoningTokens: 0,
    });
  });

  test('an unreadable cache_creation split loses only the split, not the answer', () => {
    const out = translate([{ type: 'text', text: 'x' }], 'end_turn', {
      input_tokens: 1, output_tokens: 1, cache_creation_input_tokens: 50, cache_creation: 'soon',
    });
    expect(out.usage).toMatchObject({ cache_creation_input_tokens: 50 });
    expect(out.usage).not.toHaveProperty('cache_creation');
  });

  test('rejects a malformed known block instead of dropping it', () => {
    expect(AnthropicResponseSchema.safeParse({
      id: 'm', type: 'message', role: 'assistant', model: 'c', content: [{ type: 'tool_use', id: 't' }],
      stop_reason: 'tool_use', usage,
    }).success).toBe(false);
  });
});

describe('anthropicErrorToInfo', () => {
  test.each([
    [400, 'invalid_request_error', 'invalid_request_error'],
    [401, 'authentication_error', 'authentication_error'],
    [403, 'permission_error', 'permission_error'],
    [404, 'not_found_error', 'not_found_error'],
    [413, 'request_too_large', 'invalid_request_error'],
    [429, 'rate_limit_error', 'rate_limit_error'],
    [500, 'api_error', 'api_error'],
    [529, 'overloaded_error', 'api_error'],
    [402, 'billing_error', 'insufficient_quota'],
  ] as const)('HTTP %i %s becomes OpenAI type %s with Anthropic type as code', (status, type, openaiType) => {
    const body = { type: 'error', error: { type, message: 'boom' }, request_id: 'req_1' };
    expect(anthropicErrorToInfo(status, body)).toEqual({ message: 'boom', type: openaiType, code: type, param: null });
  });

  test.each([
    [401, 'authentication_error'],
    [429, 'rate_limit_error'],
    [422, 'invalid_request_error'],
    [502, 'api_error'],
  ] as const)('infers the type from HTTP %i when the body is not Anthropic JSON', (status, type) => {
    expect(anthropicErrorToInfo(status, '<html>Bad Gateway</html>')).toEqual({
      message: '<html>Bad Gateway</html>',
      type,
      code: null,
      param: null,
    });
  });

  test('says which status came back when the body is empty', () => {
    expect(anthropicErrorToInfo(503, '').message).toBe('Anthropic returned HTTP 503');
  });

  test.each([
    ["FastAPI's detail", { detail: 'bad thing' }, 'bad thing'],
    ["vLLM's message", { object: 'error', message: 'model not loaded', type: 'BadRequestError' }, 'model not loaded'],
    ['an OpenAI-style error', { error: { message: 'quota', type: 'insufficient_quota' } }, 'quota'],
  ] as const)("a host's own JSON shape (%s) still gives its message", (_title, body, message) => {
    expect(anthropicErrorToInfo(422, body)).toMatchObject({ message, type: 'invalid_request_error', code: null });
  });

  test('a JSON body that says nothing readable: the status', () => {
    expect(anthropicErrorToInfo(500, { weird: 1 }).message).toBe('Anthropic returned HTTP 500');
  });
});
