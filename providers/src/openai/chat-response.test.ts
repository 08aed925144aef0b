import { describe, expect, test } from 'vitest';
import type { TranslateContext } from '../types.ts';
import { chatChoice, chatChunk, chatCompletion, chunkChoice, openaiUsageBase } from './chat-response.ts';

const ctx = (includeUsage: boolean): TranslateContext => ({ id: 'chatcmpl-1', created: 7, model: 'm', includeUsage });
const usage = openaiUsageBase({ promptTokens: 10, completionTokens: 5, cachedTokens: 2, cacheWriteTokens: 0, reasoningTokens: 0 });

describe('chatChunk', () => {
  test.each([
    { title: 'adds usage: null to every chunk when the client asked for usage', include: true, expected: { usage: null } },
    { title: 'has no usage key when the client did not ask for usage', include: false, expected: {} },
  ] as const)('$title', ({ include, expected }) => {
    const chunk = chatChunk(ctx(include), [chunkChoice(0, { content: 'hi' })]);
    expect(chunk).toStrictEqual({
      id: 'chatcmpl-1',
      object: 'chat.completion.chunk',
      created: 7,
      model: 'm',
      choices: [{ index: 0, delta: { content: 'hi' }, logprobs: null, finish_reason: null }],
      ...expected,
    });
  });

  test('the usage chunk has no choices and carries the usage', () => {
    expect(chatChunk(ctx(true), [], usage)).toMatchObject({ choices: [], usage: { prompt_tokens: 10, completion_tokens: 5, total_tokens: 15 } });
  });
});

describe('chatCompletion', () => {
  test('wraps choices and usage in the chat.completion envelope', () => {
    const message = { role: 'assistant', content: 'hi', refusal: null };
    expect(chatCompletion(ctx(false), [chatChoice(0, message, 'stop')], usage)).toStrictEqual({
      id: 'chatcmpl-1',
      object: 'chat.completion',
      created: 7,
      model: 'm',
      choices: [{ index: 0, message, logprobs: null, finish_reason: 'stop' }],
      usage: { prompt_tokens: 10, completion_tokens: 5, total_tokens: 15, prompt_tokens_details: { cached_tokens: 2 } },
    });
  });
});
