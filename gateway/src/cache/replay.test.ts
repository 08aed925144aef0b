import { describe, expect, test } from 'vitest';
// The SDK is a dependency of the cross-package tests only; the gateway itself never imports it.
import OpenAI from '../../../test/node_modules/openai/index.mjs';
import { type ChatCompletionChunk, chatCompletionToChunks, chunksToChatCompletion, ReplayError, toSse } from './replay.ts';

const base = { id: 'chatcmpl-abc123', object: 'chat.completion', created: 1_767_000_000, model: 'gpt-4o-mini-2024-07-18' } as const;
const usage = {
  prompt_tokens: 31,
  completion_tokens: 142,
  total_tokens: 173,
  prompt_tokens_details: { cached_tokens: 0, audio_tokens: 0 },
  completion_tokens_details: { reasoning_tokens: 0, audio_tokens: 0, accepted_prediction_tokens: 0, rejected_prediction_tokens: 0 },
};

/** Long enough for several pieces, with astral characters that must not be split. */
const LONG_TEXT =
  'Caching answers saves money 💸 and time ⏱️. Here is a longer paragraph so that the content spans several chunks:\n' +
  '1. 一致性 matters — the bytes must be identical.\n2. Emoji such as 👩‍👩‍👧 are sequences of code points.\n' +
  '3. Trailing whitespace stays too.   ';

const FIXTURES = {
  text: {
    ...base,
    choices: [{ index: 0, message: { role: 'assistant', content: LONG_TEXT, refusal: null }, logprobs: null, finish_reason: 'stop' }],
    usage,
    service_tier: 'default',
    system_fingerprint: 'fp_1234',
  },
  'parallel tool calls': {
    ...base,
    choices: [
      {
        index: 0,
        message: {
          role: 'assistant',
          content: null,
          refusal: null,
          tool_calls: [
            { id: 'call_1', type: 'function', function: { name: 'get_weather', arguments: JSON.stringify({ city: 'Paris', unit: 'celsius', days: [1, 2, 3], note: 'x'.repeat(150) }) } },
            { id: 'call_2', type: 'function', function: { name: 'get_time', arguments: '{"tz":"Europe/Paris"}' } },
          ],
        },
        logprobs: null,
        finish_reason: 'tool_calls',
      },
    ],
    usage,
  },
  refusal: {
    ...base,
    choices: [{ index: 0, message: { role: 'assistant', content: null, refusal: "I'm sorry, I can't help with that request." }, logprobs: null, finish_reason: 'stop' }],
    usage,
  },
  'two choices with logprobs': {
    ...base,
    choices: [0, 1].map((index) => ({
      index,
      message: { role: 'assistant', content: `Answer ${index}`, refusal: null },
      logprobs: { content: [{ token: 'Answer', logprob: -0.1, bytes: [65], top_logprobs: [] }], refusal: null },
      finish_reason: 'length',
    })),
    usage,
  },
} as const;

type Fixture = (typeof FIXTURES)[keyof typeof FIXTURES];
const cases = Object.entries(FIXTURES) as Array<[string, Fixture]>;

function withoutUsage(c: Fixture) {
  const { usage: _u, ...rest } = c;
  return rest;
}

describe('chatCompletionToChunks', () => {
  test.each(cases)('%s: completion -> chunks -> completion gives back the same answer', (_title, completion) => {
    expect(chunksToChatCompletion(chatCompletionToChunks(completion, { includeUsage: true }))).toEqual(completion);
    expect(chunksToChatCompletion(chatCompletionToChunks(completion, { includeUsage: false }))).toEqual(withoutUsage(completion));
  });

  test('streams like OpenAI: role first, content in pieces, a finish chunk, then the usage chunk', () => {
    const chunks = chatCompletionToChunks(FIXTURES.text, { includeUsage: true });
    for (const ch of chunks) {
      expect(ch).toMatchObject({ id: base.id, object: 'chat.completion.chunk', created: base.created, model: base.model, system_fingerprint: 'fp_1234' });
    }
    expect(chunks[0]?.choices).toEqual([{ index: 0, delta: { role: 'assistant', content: '', refusal: null }, logprobs: null, finish_reason: null }]);
    const body = chunks.slice(1, -2);
    expect(body.length).toBeGreaterThan(2);
    const texts = body.map((ch) => ch.choices[0]?.delta.content);
    expect(texts.join('')).toBe(LONG_TEXT);
    for (const t of texts) expect(Array.from(t ?? '').length).toBeLessThanOrEqual(64);
    expect(chunks.at(-2)?.choices).toEqual([{ index: 0, delta: {}, logprobs: null, finish_reason: 'stop' }]);
    expect(chunks.at(-1)).toMatchObject({ choices: [], usage });
    // With include_usage OpenAI sends `usage: null` on every chunk but the last.
    expect(chunks.slice(0, -1).every((ch) => ch.usage === null)).toBe(true);
  });

  test('without includeUsage there is no usage chunk and no usage member', () => {
    const chunks = chatCompletionToChunks(FIXTURES.text, { includeUsage: false });
    expect(chunks.at(-1)?.choices[0]?.finish_reason).toBe('stop');
    expect(chunks.every((ch) => ch.choices.length === 1 && !('usage' in ch))).toBe(true);
  });

  test('sends each tool call as deltas under its index: id, type and name first, then the arguments in pieces', () => {
    const chunks = chatCompletionToChunks(FIXTURES['parallel tool calls'], { includeUsage: false });
    const calls = chunks.flatMap((ch) => ch.choices[0]?.delta.tool_calls ?? []);
    expect(calls[0]).toEqual({ index: 0, id: 'call_1', type: 'function', function: { name: 'get_weather', arguments: '' } });
    const firstArgs = calls.filter((c) => c.index === 0).map((c) => c.function?.arguments ?? '');
    expect(firstArgs.length).toBeGreaterThan(3);
    expect(firstArgs.join('')).toBe(FIXTURES['parallel tool calls'].choices[0].message.tool_calls[0].function.arguments);
    expect(calls.filter((c) => c.id !== undefined).map((c) => [c.index, c.id])).toEqual([
      [0, 'call_1'],
      [1, 'call_2'],
    ]);
    expect(chunks[0]?.choices[0]?.delta).toEqual({ role: 'assistant', content: null, refusal: null });
  });

  test.each([
    ['a message with audio', { ...base, choices: [{ index: 0, message: { role: 'assistant', content: null, audio: { id: 'a1', data: 'AAAA' } }, finish_reason: 'stop' }] }, 'message.audio'],
    ['a chunk instead of a completion', { ...base, object: 'chat.completion.chunk', choices: [] }, 'object'],
    ['a custom tool call', { ...base, choices: [{ index: 0, message: { role: 'assistant', tool_calls: [{ id: 'c', type: 'custom', custom: { name: 'x', input: 'y' } }] }, finish_reason: 'tool_calls' }] }, 'tool_calls'],
  ] as const)('refuses %s with a ReplayError rather than dropping what it cannot stream', (_title, input, where) => {
    expect(() => chatCompletionToChunks(input, { includeUsage: false })).toThrow(ReplayError);
    expect(() => chatCompletionToChunks(input, { includeUsage: false })).toThrow(where);
  });
});

/** One chat chunk of choice 0 with `delta`. */
function chunkWith(delta: Record<string, unknown>): Record<string, unknown> {
  return { id: 'c1', object: 'chat.completion.chunk', created: 1, model: 'm', choices: [{ index: 0, delta, finish_reason: 'stop' }] };
}

describe('chunksToChatCompletion', () => {
  test('reassembles an OpenAI stream with interleaved tool-call pieces and the usage chunk', () => {
    const head = { id: 'chatcmpl-x', object: 'chat.completion.chunk', created: 1, model: 'gpt-4o', system_fingerprint: null, usage: null } as const;
    const delta = (d: object, finish: string | null = null) => ({ ...head, choices: [{ index: 0, delta: d, logprobs: null, finish_reason: finish }] });
    const stream = [
      delta({ role: 'assistant', content: null, tool_calls: [{ index: 0, id: 'call_a', type: 'function', function: { name: 'a', arguments: '' } }], refusal: null }),
      delta({ tool_calls: [{ index: 1, id: 'call_b', type: 'function', function: { name: 'b', arguments: '' } }] }),
      delta({ tool_calls: [{ index: 0, function: { arguments: '{"x":' } }] }),
      delta({ tool_calls: [{ index: 1, function: { arguments: '{"y":2}' } }] }),
      delta({ tool_calls: [{ index: 0, function: { arguments: '1}' } }] }),
      delta({}, 'tool_calls'),
      { ...head, choices: [], usage: { prompt_tokens: 5, completion_tokens: 7, total_tokens: 12 } },
    ];
    expect(chunksToChatCompletion(stream)).toEqual({
      id: 'chatcmpl-x',
      object: 'chat.completion',
      created: 1,
      model: 'gpt-4o',
      system_fingerprint: null,
      choices: [
        {
          index: 0,
          message: {
            role: 'assistant',
            content: null,
            refusal: null,
            tool_calls: [
              { id: 'call_a', type: 'function', function: { name: 'a', arguments: '{"x":1}' } },
              { id: 'call_b', type: 'function', function: { name: 'b', arguments: '{"y":2}' } },
            ],
          },
          logprobs: null,
          finish_reason: 'tool_calls',
        },
      ],
      usage: { prompt_tokens: 5, completion_tokens: 7, total_tokens: 12 },
    });
  });

  test.each([
    ['no chunks', []],
    ['a chunk that is not a chat chunk', [{ type: 'message_start' }]],
    ['audio output', [chunkWith({ audio: { id: 'audio_1', data: 'UklGR', transcript: 'Hello' } })]],
    ['signed thinking blocks', [chunkWith({ thinking_blocks: [{ type: 'thinking', thinking: 'hm', signature: 'c2ln' }] })]],
    [
      "a tool call's thought signature",
      [chunkWith({ tool_calls: [{ index: 0, id: 'call_1', type: 'function', function: { name: 'f', arguments: '{}' }, extra_content: { google: { thought_signature: 'sig' } } }] })],
    ],
  ] as const)('refuses %s with a ReplayError (the cache counts a miss rather than answer with part of it)', (_title, chunks) => {
    expect(() => chunksToChatCompletion(chunks)).toThrow(ReplayError);
  });
});

describe('toSse', () => {
  test.each([
    ['objects as JSON data lines, then [DONE]', [{ data: { a: 1 } }, { data: { b: 'x\ny' } }], true, 'data: {"a":1}\n\ndata: {"b":"x\\ny"}\n\ndata: [DONE]\n\n'],
    ['no [DONE] when not done', [{ data: { a: 1 } }], false, 'data: {"a":1}\n\n'],
    ['named events with an event line', [{ event: 'message_stop', data: { type: 'message_stop' } }], false, 'event: message_stop\ndata: {"type":"message_stop"}\n\n'],
    ['strings as already-serialised payloads', [{ data: '{"a":1}' }], true, 'data: {"a":1}\n\ndata: [DONE]\n\n'],
    ['a line break in a string payload as a second data line', [{ data: 'one\ntwo' }], false, 'data: one\ndata: two\n\n'],
    ['only [DONE] for no events', [], true, 'data: [DONE]\n\n'],
  ] as const)('writes %s', (_title, events, done, expected) => {
    expect(toSse(events, done)).toBe(expected);
  });
});

/** An SDK client whose HTTP call answers `sse`: the SDK's own SSE parser reads the replay. */
function sdkReading(sse: string): OpenAI {
  return new OpenAI({
    apiKey: 'sk-test',
    baseURL: 'http://127.0.0.1:9/v1',
    maxRetries: 0,
    fetch: async () => new Response(sse, { status: 200, headers: { 'content-type': 'text/event-stream' } }),
  });
}

function sseOf(chunks: ChatCompletionChunk[]): string {
  return toSse(
    chunks.map((data) => ({ data })),
    true,
  );
}

describe('a replayed stream read by the openai SDK', () => {
  test.each(cases)('%s: ChatCompletionStream rebuilds the same answer', async (_title, completion) => {
    const sse = sseOf(chatCompletionToChunks(completion, { includeUsage: true }));
    const stream = sdkReading(sse).chat.completions.stream({ model: base.model, messages: [{ role: 'user', content: 'hi' }], stream_options: { include_usage: true } });
    const final = await stream.finalChatCompletion();
    expect(final.usage).toEqual(completion.usage);
    expect(final.choices).toHaveLength(completion.choices.length);
    completion.choices.forEach((choice, i) => {
      const got = final.choices[i];
      expect(got?.finish_reason).toBe(choice.finish_reason);
      expect(got?.message.content ?? null).toBe(choice.message.content);
      expect(got?.message.refusal ?? null).toBe(choice.message.refusal);
      const calls = 'tool_calls' in choice.message ? choice.message.tool_calls : undefined;
      expect(got?.message.tool_calls?.map((c) => (c.type === 'function' ? { id: c.id, type: c.type, function: { name: c.function.name, arguments: c.function.arguments } } : c))).toEqual(calls);
    });
  });

  test('the raw SDK stream yields the chunks as sent, and their deltas give the exact text', async () => {
    const chunks = chatCompletionToChunks(FIXTURES.text, { includeUsage: false });
    const stream = await sdkReading(sseOf(chunks)).chat.completions.create({ model: base.model, messages: [{ role: 'user', content: 'hi' }], stream: true });
    const seen: unknown[] = [];
    let text = '';
    for await (const chunk of stream) {
      seen.push(chunk);
      text += chunk.choices[0]?.delta.content ?? '';
    }
    expect(seen).toEqual(chunks);
    expect(text).toBe(LONG_TEXT);
  });
});
