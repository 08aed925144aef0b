import { z } from 'zod';
import { describe, expect, test } from 'vitest';
import { TranslationError } from '../types.ts';
import { ChatParamsSchema, parseParam, parseToolArguments, unknownKey } from './chat-request.ts';

/** The TranslationError a call must throw, naming `param` (and with a message matching `message`). */
const translationError = (param: string, message: RegExp = /./) =>
  expect.objectContaining({ name: 'TranslationError', param, message: expect.stringMatching(message) });

const fail = (issue: unknown, param: string) => new TranslationError(issue ? 'bad' : 'no issue', param);
const Body = z.object({ messages: z.array(z.object({ content: z.string() })) });

describe('unknownKey', () => {
  test.each<{ title: string; body: Record<string, unknown>; key: string | undefined }>([
    { title: 'names the first key the schema does not list', body: { temperature: 1, functions: [], audio: {} }, key: 'functions' },
    { title: 'ignores listed keys', body: { temperature: 1, model: 'm' }, key: undefined },
    { title: 'does not take inherited Object properties for listed keys', body: { constructor: 1 }, key: 'constructor' },
  ])('$title', ({ body, key }) => {
    expect(unknownKey(ChatParamsSchema, body)).toBe(key);
  });
});

describe('parseParam', () => {
  test('returns the parsed value when it is valid', () => {
    expect(parseParam(Body, { messages: [{ content: 'x', name: 'dropped' }] }, '', fail)).toEqual({ messages: [{ content: 'x' }] });
  });

  test.each([
    { title: 'names a nested path in OpenAI form', value: { messages: [{ content: 'x' }, { content: 3 }] }, base: '', param: 'messages[1].content' },
    { title: 'puts the path below the base', value: { function: { name: 1 } }, base: 'tools[2]', param: 'tools[2].function' },
  ] as const)('$title', ({ value, base, param }) => {
    const schema = base === '' ? Body : z.object({ function: z.string() });
    expect(() => parseParam(schema, value, base, fail)).toThrow(translationError(param));
  });
});

describe('parseToolArguments', () => {
  test.each([
    { args: '{"city":"Paris"}', expected: { city: 'Paris' } },
    { args: '', expected: {} },
    { args: '  ', expected: {} },
  ] as const)('reads $args as an object', ({ args, expected }) => {
    expect(parseToolArguments(args, 'at')).toEqual(expected);
  });

  test.each([
    { args: '{"a":', message: /not valid JSON/ },
    { args: '[1]', message: /must be a JSON object/ },
    { args: 'null', message: /must be a JSON object/ },
  ] as const)('refuses $args, naming the parameter', ({ args, message }) => {
    const at = 'messages[1].tool_calls[0].function.arguments';
    expect(() => parseToolArguments(args, at)).toThrow(translationError(at, message));
  });
});
