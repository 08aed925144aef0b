import { describe, expect, test } from 'vitest';
import type { SseEvent } from '../types.ts';
import { createAnthropicStreamTranslator } from './stream.ts';

const base = { model: 'claude-sonnet-4-5', id: 'chatcmpl-test', created: 1700000000 };

const ev = (type: string, rest: object = {}): SseEvent => ({ event: type, data: JSON.stringify({ type, ...rest }) });
const start = (usage: object = { input_tokens: 25, output_tokens: 1 }) =>
  ev('message_start', {
    message: { id: 'msg_1', type: 'message', role: 'assistant', model: 'claude-sonnet-4-5-20250929', content: [], stop_reason: null, stop_sequence: null, usage },
  });
const textStart = (index: number) => ev('content_block_start', { index, content_block: { type: 'text', text: '' } });
const toolStart = (index: number, id: string, name: string) =>
  ev('content_block_start', { index, content_block: { type: 'tool_use', id, name, input: {} } });
const text = (index: number, t: string) => ev('content_block_delta', { index, delta: { type: 'text_delta', text: t } });
const json = (index: number, p: string) => ev('content_block_delta', { index, delta: { type: 'input_json_delta', partial_json: p } });
const stop = (index: number) => ev('content_block_stop', { index });
const msgDelta = (stop_reason: string, usage: object = { output_tokens: 12 }) =>
  ev('message_delta', { delta: { stop_reason, stop_sequence: null }, usage });
const end = ev('message_stop');

function run(events: SseEvent[], includeUsage = false): unknown[] {
  const t = createAnthropicStreamTranslator({ ...base, includeUsage });
  const out = events.flatMap((e) => t.push(e));
  out.push(...t.finish());
  return out.map((o) => o.data);
}

/** An OpenAI chunk with one choice; usage:null is added by `withUsageNull` where include_usage is on. */
const chunk = (delta: object, finish_reason: string | null = null) => ({
  ...base,
  object: 'chat.completion.chunk',
  choices: [{ index: 0, delta, logprobs: null, finish_reason }],
});
const roleChunk = chunk({ role: 'assistant', content: '' });
const call = (index: number, id: string, name: string) => ({ tool_calls: [{ index, id, type: 'function', function: { name, arguments: '' } }] });
const args = (index: number, a: string) => ({ tool_calls: [{ index, function: { arguments: a } }] });

describe('createAnthropicStreamTranslator', () => {
  test.each([
    {
      title: 'streams plain text: role first, one chunk per text_delta, then finish_reason; ping is dropped',
      events: [start(), textStart(0), ev('ping'), text(0, 'Hel'), text(0, 'lo'), stop(0), msgDelta('end_turn'), end],
      expected: [roleChunk, chunk({ content: 'Hel' }), chunk({ content: 'lo' }), chunk({}, 'stop')],
    },
    {
      title: 'streams one tool call in several input_json_delta pieces under tool index 0',
      events: [
        start(), toolStart(0, 'toolu_1', 'get_weather'), json(0, ''), json(0, '{"city":'), json(0, ' "Par'), json(0, 'is"}'),
        stop(0), msgDelta('tool_use'), end,
      ],
      expected: [
        roleChunk,
        chunk(call(0, 'toolu_1', 'get_weather')),
        chunk(args(0, '{"city":')),
        chunk(args(0, ' "Par')),
        chunk(args(0, 'is"}')),
        chunk({}, 'tool_calls'),
      ],
    },
    {
      title: 'numbers two parallel tool calls 0 and 1',
      events: [
        start(), toolStart(0, 'toolu_1', 'get_weather'), json(0, '{"city":"Paris"}'), stop(0),
        toolStart(1, 'toolu_2', 'get_time'), json(1, '{"tz":"CET"}'), stop(1), msgDelta('tool_use'), end,
      ],
      expected: [
        roleChunk,
        chunk(call(0, 'toolu_1', 'get_weather')),
        chunk(args(0, '{"city":"Paris"}')),
        chunk(call(1, 'toolu_2', 'get_time')),
        chunk(args(1, '{"tz":"CET"}')),
        chunk({}, 'tool_calls'),
      ],
    },
    {
      title: 'starts tool indices at 0 when a text block comes first (Anthropic block index 1)',
      events: [
        start(), textStart(0), text(0, 'Checking.'), stop(0), toolStart(1, 'toolu_9', 'lookup'), json(1, '{}'), stop(1),
        msgDelta('tool_use'), end,
      ],
      expected: [roleChunk, chunk({ content: 'Checking.' }), chunk(call(0, 'toolu_9', 'lookup')), chunk(args(0, '{}')), chunk({}, 'tool_calls')],
    },
    {
      title: 'gives a tool call without parameters "{}" as its arguments (the API streams only an empty fragment)',
      events: [start(), toolStart(0, 'toolu_3', 'get_time'), json(0, ''), stop(0), msgDelta('tool_use'), end],
      expected: [roleChunk, chunk(call(0, 'toolu_3', 'get_time')), chunk(args(0, '{}')), chunk({}, 'tool_calls')],
    },
    {
      title: 'sends thinking as reasoning_content, then the whole block with its signature when it ends',
      events: [
        start(), ev('content_block_start', { index: 0, content_block: { type: 'thinking', thinking: '', signature: '' } }),
        ev('content_block_delta', { index: 0, delta: { type: 'thinking_delta', thinking: 'Hmm, ' } }),
        ev('content_block_delta', { index: 0, delta: { type: 'thinking_delta', thinking: 'yes.' } }),
        ev('content_block_delta', { index: 0, delta: { type: 'signature_delta', signature: 'EqQB' } }), stop(0),
        textStart(1), text(1, 'Yes.'), stop(1), msgDelta('max_tokens'), end,
      ],
      expected: [
        roleChunk,
        chunk({ reasoning_content: 'Hmm, ' }),
        chunk({ reasoning_content: 'yes.' }),
        chunk({ thinking_blocks: [{ type: 'thinking', thinking: 'Hmm, yes.', signature: 'EqQB' }] }),
        chunk({ content: 'Yes.' }),
        chunk({}, 'length'),
      ],
    },
    {
      title: 'passes a redacted thinking block on as it starts',
      events: [
        start(), ev('content_block_start', { index: 0, content_block: { type: 'redacted_thinking', data: 'EmwKAhgB' } }), stop(0),
        textStart(1), text(1, 'Done.'), stop(1), msgDelta('end_turn'), end,
      ],
      expected: [
        roleChunk,
        chunk({ thinking_blocks: [{ type: 'redacted_thinking', data: 'EmwKAhgB' }] }),
        chunk({ content: 'Done.' }),
        chunk({}, 'stop'),
      ],
    },
    {
      title: 'skips event types it does not know instead of failing',
      events: [start(), ev('future_event', { x: 1 }), textStart(0), text(0, 'ok'), msgDelta('end_turn'), end],
      expected: [roleChunk, chunk({ content: 'ok' }), chunk({}, 'stop')],
    },
  ] as const)('$title', ({ events, expected }) => {
    expect(run([...events])).toEqual(expected);
  });

  test('with include_usage: usage:null on every chunk and a final usage chunk with empty choices', () => {
    const out = run([start({ input_tokens: 25, output_tokens: 1 }), textStart(0), text(0, 'Hi'), msgDelta('end_turn', { output_tokens: 12 }), end], true);
    expect(out).toEqual([
      { ...roleChunk, usage: null },
      { ...chunk({ content: 'Hi' }), usage: null },
      { ...chunk({}, 'stop'), usage: null },
      {
        ...base,
        object: 'chat.completion.chunk',
        choices: [],
        usage: { prompt_tokens: 25, completion_tokens: 12, total_tokens: 37, prompt_tokens_details: { cached_tokens: 0 }, cache_creation_input_tokens: 0 },
      },
    ]);
  });

  test('usage chunk adds cache reads and writes from message_start to prompt_tokens', () => {
    const out = run(
      [start({ input_tokens: 5, output_tokens: 1, cache_read_input_tokens: 900, cache_creation_input_tokens: 100 }), msgDelta('end_turn', { output_tokens: 3, input_tokens: null }), end],
      true,
    );
    expect(out.at(-1)).toMatchObject({
      choices: [],
      usage: { prompt_tokens: 1005, completion_tokens: 3, total_tokens: 1008, prompt_tokens_details: { cached_tokens: 900 }, cache_creation_input_tokens: 100 },
    });
  });

  test("usage chunk keeps message_start's split of cache writes by lifetime (message_delta does not repeat it)", () => {
    const cacheCreation = { ephemeral_5m_input_tokens: 30, ephemeral_1h_input_tokens: 70 };
    const out = run(
      [
        start({ input_tokens: 5, output_tokens: 1, cache_creation_input_tokens: 100, cache_creation: cacheCreation }),
        msgDelta('end_turn', { output_tokens: 3, input_tokens: 5, cache_creation_input_tokens: 100, cache_read_input_tokens: 0 }),
        end,
      ],
      true,
    );
    expect(out.at(-1)).toMatchObject({ choices: [], usage: { prompt_tokens: 105, cache_creation_input_tokens: 100, cache_creation: cacheCreation } });
  });

  test('without include_usage no chunk carries a usage field', () => {
    const out = run([start(), textStart(0), text(0, 'Hi'), msgDelta('end_turn'), end]);
    expect(out.some((c) => typeof c === 'object' && c !== null && 'usage' in c)).toBe(false);
  });

  test('a mid-stream error event becomes an OpenAI-style error object', () => {
    const out = run([start(), textStart(0), text(0, 'a'), ev('error', { error: { type: 'overloaded_error', message: 'Overloaded' } })]);
    expect(out.at(-1)).toEqual({ error: { message: 'Overloaded', type: 'api_error', code: 'overloaded_error', param: null } });
  });

  test('a stream cut before message_stop gets nothing extra from finish()', () => {
    expect(run([start(), textStart(0), text(0, 'a')])).toEqual([roleChunk, chunk({ content: 'a' })]);
  });

  test('throws on a data line that is not JSON rather than dropping it', () => {
    const t = createAnthropicStreamTranslator({ ...base, includeUsage: false });
    expect(() => t.push({ event: 'content_block_delta', data: '{not json' })).toThrow(/not JSON/);
  });

  test('throws on a known event with a malformed body', () => {
    const t = createAnthropicStreamTranslator({ ...base, includeUsage: false });
    expect(() => t.push(ev('content_block_delta', { index: 0, delta: { type: 'text_delta' } }))).toThrow(/unexpected shape/);
  });
});
