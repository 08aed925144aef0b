import { describe, expect, test } from 'vitest';
import { chatToOpenai, embeddingsToOpenai, mapFinishReason, toUsage } from './response.ts';

const ctx = { model: 'gemini-2.5-flash', id: 'chatcmpl-r1', created: 1700000000, includeUsage: false };

describe('chatToOpenai', () => {
  test('joins text parts, skips thought summaries and maps usage with thoughts as reasoning tokens', () => {
    const out = chatToOpenai(
      {
        candidates: [
          {
            content: { role: 'model', parts: [{ text: 'thinking...', thought: true }, { text: 'Hello' }, { text: ', world' }] },
            finishReason: 'STOP',
            index: 0,
            safetyRatings: [],
          },
        ],
        usageMetadata: { promptTokenCount: 100, candidatesTokenCount: 5, thoughtsTokenCount: 20, cachedContentTokenCount: 60, totalTokenCount: 125 },
        modelVersion: 'gemini-2.5-flash',
        responseId: 'abc',
      },
      ctx,
    );
    expect(out).toEqual({
      id: 'chatcmpl-r1',
      object: 'chat.completion',
      created: 1700000000,
      model: 'gemini-2.5-flash',
      choices: [{ index: 0, message: { role: 'assistant', content: 'Hello, world', refusal: null }, logprobs: null, finish_reason: 'stop' }],
      usage: {
        prompt_tokens: 100,
        completion_tokens: 25,
        total_tokens: 125,
        prompt_tokens_details: { cached_tokens: 60 },
        completion_tokens_details: { reasoning_tokens: 20 },
      },
    });
  });

  test('function calls become tool_calls with deterministic ids from ctx and finish_reason tool_calls', () => {
    const out = chatToOpenai(
      {
        candidates: [
          {
            content: {
              role: 'model',
              parts: [
                { functionCall: { name: 'get_weather', args: { city: 'Paris' } }, thoughtSignature: 'c2ln' },
                { functionCall: { name: 'get_time' } },
              ],
            },
            finishReason: 'STOP',
          },
        ],
      },
      ctx,
    );
    expect(out.choices[0]).toEqual({
      index: 0,
      message: {
        role: 'assistant',
        content: null,
        refusal: null,
        tool_calls: [
          { id: 'call_r1_0', type: 'function', function: { name: 'get_weather', arguments: '{"city":"Paris"}' }, extra_content: { google: { thought_signature: 'c2ln' } } },
          { id: 'call_r1_1', type: 'function', function: { name: 'get_time', arguments: '{}' } },
        ],
      },
      logprobs: null,
      finish_reason: 'tool_calls',
    });
  });

  test('every candidate becomes a choice by its index', () => {
    const out = chatToOpenai(
      {
        candidates: [
          { content: { parts: [{ text: 'A' }] }, finishReason: 'STOP', index: 0 },
          { content: { parts: [{ text: 'B' }] }, finishReason: 'MAX_TOKENS', index: 1 },
        ],
      },
      ctx,
    );
    expect(out.choices.map((c) => [c.index, c.message.content, c.finish_reason])).toEqual([
      [0, 'A', 'stop'],
      [1, 'B', 'length'],
    ]);
  });

  test('a blocked prompt (no candidates) is one empty choice with finish_reason content_filter', () => {
    const out = chatToOpenai({ promptFeedback: { blockReason: 'SAFETY' }, usageMetadata: { promptTokenCount: 8, totalTokenCount: 8 } }, ctx);
    expect(out.choices).toEqual([{ index: 0, message: { role: 'assistant', content: null, refusal: null }, logprobs: null, finish_reason: 'content_filter' }]);
    expect(out.usage?.prompt_tokens).toBe(8);
  });

  test('an answer without usageMetadata has no usage (the gateway estimates), not zeros the provider never counted', () => {
    const out = chatToOpenai({ candidates: [{ content: { role: 'model', parts: [{ text: 'Hi' }] }, finishReason: 'STOP' }] }, ctx);
    expect(out.choices[0]?.message.content).toBe('Hi');
    expect(JSON.parse(JSON.stringify(out))).not.toHaveProperty('usage');
  });

  test('a body that is not a Gemini response is an error, not an empty answer', () => {
    expect(() => chatToOpenai({ candidates: 'nope' }, ctx)).toThrow(/Unexpected Gemini response/);
  });
});

describe('mapFinishReason', () => {
  test.each([
    ['STOP', false, 'stop'],
    ['STOP', true, 'tool_calls'],
    ['MAX_TOKENS', true, 'length'],
    ['SAFETY', false, 'content_filter'],
    ['RECITATION', false, 'content_filter'],
    ['BLOCKLIST', false, 'content_filter'],
    ['PROHIBITED_CONTENT', false, 'content_filter'],
    ['SPII', false, 'content_filter'],
    ['OTHER', false, 'stop'],
    [undefined, false, 'stop'],
  ] as const)('%s (tool calls: %s) -> %s', (reason, hasTools, expected) => {
    expect(mapFinishReason(reason, hasTools)).toBe(expected);
  });
});

describe('toUsage', () => {
  test('counts tool-use prompt tokens as input and thoughts as output', () => {
    expect(
      toUsage({ promptTokenCount: 10, toolUsePromptTokenCount: 5, candidatesTokenCount: 3, thoughtsTokenCount: 4, cachedContentTokenCount: 2 }),
    ).toEqual({ promptTokens: 15, completionTokens: 7, cachedTokens: 2, cacheWriteTokens: 0, reasoningTokens: 4 });
  });
  test('missing usage is all zeros', () => {
    expect(toUsage(undefined)).toEqual({ promptTokens: 0, completionTokens: 0, cachedTokens: 0, cacheWriteTokens: 0, reasoningTokens: 0 });
  });
});

describe('embeddingsToOpenai', () => {
  const body = { embeddings: [{ values: [0.5, -1] }, { values: [0.25, 2] }] };

  test('returns an OpenAI list with zero usage (batchEmbedContents reports none)', () => {
    expect(embeddingsToOpenai(body, ctx)).toEqual({
      object: 'list',
      data: [
        { object: 'embedding', index: 0, embedding: [0.5, -1] },
        { object: 'embedding', index: 1, embedding: [0.25, 2] },
      ],
      model: 'gemini-2.5-flash',
      usage: { prompt_tokens: 0, total_tokens: 0 },
    });
  });

  test('base64 encoding is little-endian float32, as the openai SDK decodes it', () => {
    const out = embeddingsToOpenai(body, ctx, 'base64');
    const first = out.data[0]?.embedding;
    expect(typeof first).toBe('string');
    const buf = Buffer.from(first as string, 'base64');
    expect(Array.from(new Float32Array(buf.buffer, buf.byteOffset, buf.length / 4))).toEqual([0.5, -1]);
  });
});
