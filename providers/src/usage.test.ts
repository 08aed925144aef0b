import { describe, expect, test } from 'vitest';
import { usageFromOpenai } from './usage.ts';

describe('usageFromOpenai', () => {
  test('reads Chat and Responses usage alike', () => {
    const chat = { prompt_tokens: 10, completion_tokens: 5, prompt_tokens_details: { cached_tokens: 4 }, completion_tokens_details: { reasoning_tokens: 2 } };
    const responses = { input_tokens: 10, output_tokens: 5, input_tokens_details: { cached_tokens: 4 }, output_tokens_details: { reasoning_tokens: 2 } };
    const expected = { promptTokens: 10, completionTokens: 5, cachedTokens: 4, cacheWriteTokens: 0, reasoningTokens: 2 };
    expect(usageFromOpenai(chat)).toEqual(expected);
    expect(usageFromOpenai(responses)).toEqual(expected);
    expect(usageFromOpenai(null)).toBeNull();
  });

  test("reads cache writes and their 1-hour part from the Anthropic translation's cache_creation", () => {
    const u = {
      prompt_tokens: 100_010,
      completion_tokens: 1,
      cache_creation_input_tokens: 100_000,
      cache_creation: { ephemeral_5m_input_tokens: 40_000, ephemeral_1h_input_tokens: 60_000 },
    };
    expect(usageFromOpenai(u)).toMatchObject({ cacheWriteTokens: 100_000, cacheWrite1hTokens: 60_000 });
    // no 1-hour writes: the field stays absent; a split above the total is clamped to it
    expect(usageFromOpenai({ ...u, cache_creation: { ephemeral_5m_input_tokens: 100_000, ephemeral_1h_input_tokens: 0 } })).not.toHaveProperty('cacheWrite1hTokens');
    expect(usageFromOpenai({ ...u, cache_creation_input_tokens: 7 })).toMatchObject({ cacheWriteTokens: 7, cacheWrite1hTokens: 7 });
  });
});

describe('usageFromOpenai: media endpoints', () => {
  test("reads the Images API's usage, its image input tokens apart", () => {
    const u = { total_tokens: 1600, input_tokens: 600, output_tokens: 1000, input_tokens_details: { text_tokens: 100, image_tokens: 500 } };
    expect(usageFromOpenai(u)).toEqual({ promptTokens: 600, completionTokens: 1000, cachedTokens: 0, cacheWriteTokens: 0, reasoningTokens: 0, imageInputTokens: 500 });
  });

  test("reads gpt-4o-transcribe's token usage; Whisper's duration counts no tokens", () => {
    const tokens = { type: 'tokens', input_tokens: 14, input_token_details: { text_tokens: 0, audio_tokens: 14 }, output_tokens: 45, total_tokens: 59 };
    expect(usageFromOpenai(tokens)).toMatchObject({ promptTokens: 14, completionTokens: 45, audioInputTokens: 14 });
    const withPrompt = { type: 'tokens', input_tokens: 20, input_token_details: { text_tokens: 6, audio_tokens: 14 }, output_tokens: 5 };
    expect(usageFromOpenai(withPrompt)).toMatchObject({ promptTokens: 20, audioInputTokens: 14 });
    expect(usageFromOpenai({ type: 'duration', seconds: 9 })).toBeNull();
  });
});
