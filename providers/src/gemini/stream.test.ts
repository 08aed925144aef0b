import { describe, expect, test } from 'vitest';
import { createGeminiStreamTranslator } from './stream.ts';

const base = { model: 'gemini-2.5-flash', id: 'chatcmpl-s1', created: 1700000000 };
const ev = (data: unknown) => ({ data: JSON.stringify(data) });
const head = { id: 'chatcmpl-s1', object: 'chat.completion.chunk', created: 1700000000, model: 'gemini-2.5-flash' };

function run(includeUsage: boolean, events: unknown[]) {
  const t = createGeminiStreamTranslator({ ...base, includeUsage });
  return [...events.flatMap((e) => t.push(ev(e))), ...t.finish()].map((o) => o.data);
}

const textEvents = [
  { candidates: [{ content: { role: 'model', parts: [{ text: 'Hel' }] }, index: 0 }], usageMetadata: { promptTokenCount: 7, totalTokenCount: 7 } },
  {
    candidates: [{ content: { role: 'model', parts: [{ text: 'lo' }] }, finishReason: 'STOP', index: 0 }],
    usageMetadata: { promptTokenCount: 7, candidatesTokenCount: 2, thoughtsTokenCount: 3, totalTokenCount: 12 },
  },
];

describe('createGeminiStreamTranslator', () => {
  test('text deltas, role on the first chunk, a separate finish chunk, and no usage without include_usage', () => {
    expect(run(false, textEvents)).toEqual([
      { ...head, choices: [{ index: 0, delta: { role: 'assistant', content: 'Hel' }, logprobs: null, finish_reason: null }] },
      { ...head, choices: [{ index: 0, delta: { content: 'lo' }, logprobs: null, finish_reason: null }] },
      { ...head, choices: [{ index: 0, delta: {}, logprobs: null, finish_reason: 'stop' }] },
    ]);
  });

  test('with include_usage: usage null on each chunk and one final usage chunk from the last usageMetadata', () => {
    const out = run(true, textEvents);
    expect(out.slice(0, 3).every((c) => (c as { usage: unknown }).usage === null)).toBe(true);
    expect(out[3]).toEqual({
      ...head,
      choices: [],
      usage: { prompt_tokens: 7, completion_tokens: 5, total_tokens: 12, prompt_tokens_details: { cached_tokens: 0 }, completion_tokens_details: { reasoning_tokens: 3 } },
    });
    expect(out).toHaveLength(4);
  });

  test('function calls become complete tool_calls deltas with per-choice indexes and finish tool_calls', () => {
    const out = run(false, [
      { candidates: [{ content: { parts: [{ functionCall: { name: 'a', args: { x: 1 } } }] } }] },
      { candidates: [{ content: { parts: [{ functionCall: { name: 'b', args: {} } }] }, finishReason: 'STOP' }] },
    ]);
    expect(out).toEqual([
      {
        ...head,
        choices: [
          {
            index: 0,
            delta: { role: 'assistant', tool_calls: [{ index: 0, id: 'call_s1_0', type: 'function', function: { name: 'a', arguments: '{"x":1}' } }] },
            logprobs: null,
            finish_reason: null,
          },
        ],
      },
      { ...head, choices: [{ index: 0, delta: { tool_calls: [{ index: 1, id: 'call_s1_1', type: 'function', function: { name: 'b', arguments: '{}' } }] }, logprobs: null, finish_reason: null }] },
      { ...head, choices: [{ index: 0, delta: {}, logprobs: null, finish_reason: 'tool_calls' }] },
    ]);
  });

  test('a blocked prompt ends the stream with content_filter', () => {
    expect(run(false, [{ promptFeedback: { blockReason: 'PROHIBITED_CONTENT' } }])).toEqual([
      { ...head, choices: [{ index: 0, delta: { role: 'assistant' }, logprobs: null, finish_reason: 'content_filter' }] },
    ]);
  });

  test('an error event becomes an OpenAI error object', () => {
    expect(run(false, [{ error: { code: 429, message: 'Quota exceeded', status: 'RESOURCE_EXHAUSTED' } }])).toEqual([
      { error: { message: 'Quota exceeded', type: 'rate_limit_error', code: 'RESOURCE_EXHAUSTED', param: null } },
    ]);
  });

  test('with include_usage but no usageMetadata seen, finish emits nothing', () => {
    const t = createGeminiStreamTranslator({ ...base, includeUsage: true });
    expect(t.finish()).toEqual([]);
  });
});
