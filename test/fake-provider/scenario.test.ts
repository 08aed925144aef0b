import { describe, expect, test } from 'vitest';
import { countWords, mergeScenarios, outputWords, parseScenario, resolveUsage, splitText } from './scenario.ts';

describe('token rule', () => {
  test.each([
    ['counts runs of non-whitespace', 'Hello from  fake\tgpt-4o\n', 4],
    ['counts nothing in blank text', '  \n ', 0],
    ['counts punctuation glued to a word as part of it', 'hi, there!', 2],
  ] as const)('%s', (_title, text, n) => {
    expect(countWords(text)).toBe(n);
  });

  test('a tool call costs one for its name plus the words of its JSON arguments', () => {
    expect(outputWords('', { name: 'f', arguments: { a: 'x y' } })).toBe(1 + 2);
  });

  test('cached and cache-write tokens add to the prompt, reasoning to the completion', () => {
    expect(resolveUsage(3, 4, { cachedTokens: 10, cacheWriteTokens: 2, reasoningTokens: 5 }))
      .toEqual({ prompt: 15, completion: 9, cached: 10, cacheWrite: 2, reasoning: 5 });
  });

  test('explicit totals replace the computed ones', () => {
    expect(resolveUsage(3, 4, { promptTokens: 100, completionTokens: 7 })).toMatchObject({ prompt: 100, completion: 7 });
  });
});

describe('splitText', () => {
  test.each([
    ['one piece per word by default', 'a b c', undefined, ['a ', 'b ', 'c']],
    ['groups words into the asked number of pieces', 'a b c d', 2, ['a b ', 'c d']],
    ['splits by characters when more pieces than words are asked', 'abcd', 4, ['a', 'b', 'c', 'd']],
    ['never makes more pieces than characters', 'ab', 5, ['a', 'b']],
  ] as const)('%s', (_title, text, n, pieces) => {
    expect(splitText(text, n)).toEqual(pieces);
    expect(splitText(text, n).join('')).toBe(text);
  });
});

describe('parseScenario', () => {
  test('accepts every documented field', () => {
    const s = {
      text: 't', chunks: 2, toolCall: { name: 'f', arguments: {} }, status: 429, errorType: 'x', errorMessage: 'y', retryAfter: 3,
      latencyMs: 1, chunkDelayMs: 1, dropAfterChunks: 1, hangMs: 1, omitUsage: true, usage: { cachedTokens: 1 },
      finishReason: 'length', midStreamError: { afterChunks: 1 },
    };
    expect(parseScenario(JSON.stringify(s))).toEqual(s);
  });

  test.each([
    ['rejects invalid JSON', '{', 'not valid JSON'],
    ['rejects a wrong type', '{"chunks":"3"}', 'chunks must be a number'],
    ['rejects an unknown usage count', '{"usage":{"cached":1}}', 'usage.cached'],
    ['rejects a malformed tool call', '{"toolCall":{"name":"f"}}', 'toolCall must be'],
  ] as const)('%s', (_title, json, message) => {
    expect(() => parseScenario(json)).toThrow(message);
  });

  test('later layers override earlier ones, undefined fields do not', () => {
    expect(mergeScenarios({ text: 'a', chunks: 2 }, undefined, { text: 'b', chunks: undefined })).toEqual({ text: 'b', chunks: 2 });
  });
});
