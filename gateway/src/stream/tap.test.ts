import { describe, expect, test } from 'vitest';
import { chatContentSpan, chatDeltaContent, leadingResponseId, StreamTap } from './tap.ts';

const chunk = (delta: Record<string, unknown>, finish: string | null = null, usage: unknown = null) =>
  JSON.stringify({ id: 'c', object: 'chat.completion.chunk', choices: [{ index: 0, delta, finish_reason: finish }], usage });

describe('StreamTap', () => {
  test('OpenAI chat: usage from the usage chunk, finish reason, text, and [DONE] as the proper end', () => {
    const tap = new StreamTap('openai-chat');
    tap.observe(undefined, chunk({ role: 'assistant', content: '' }));
    tap.observe(undefined, chunk({ content: 'Hel' }));
    tap.observe(undefined, chunk({ content: 'lo' }));
    expect(tap.terminal).toBe(false);
    tap.observe(undefined, JSON.stringify({ choices: [], usage: { prompt_tokens: 3, completion_tokens: 2, prompt_tokens_details: { cached_tokens: 1 } } }));
    tap.observe(undefined, '[DONE]');
    expect(tap).toMatchObject({ terminal: true, usage: { promptTokens: 3, completionTokens: 2, cachedTokens: 1 } });
    expect(tap.answerText()).toBe('Hello');
  });

  test('OpenAI chat: a finish reason for every choice asked is a proper end, with or without [DONE] after it', () => {
    const one = new StreamTap('openai-chat');
    one.observe(undefined, chunk({ content: 'Hi' }));
    one.observe(undefined, chunk({}, 'stop'));
    expect(one).toMatchObject({ finishReason: 'stop', terminal: true });
    // n = 2: choice 0 done, choice 1 still under way when the stream stops is a cut
    const two = new StreamTap('openai-chat', null, 2);
    const choice = (index: number, delta: object, finish: string | null = null) => JSON.stringify({ id: 'c', choices: [{ index, delta, finish_reason: finish }] });
    two.observe(undefined, choice(0, { content: 'a' }));
    two.observe(undefined, choice(1, { content: 'b' }));
    two.observe(undefined, choice(0, {}, 'stop'));
    expect(two.terminal).toBe(false);
    two.observe(undefined, choice(1, {}, 'length'));
    expect(two).toMatchObject({ finishReason: 'length', terminal: true });
  });

  test('the first text is timed as it passes, whatever came before it; events are read lazily after it', () => {
    for (const [format, before, first] of [
      ['openai-chat', [['', chunk({ role: 'assistant', content: '' })]], ['', chunk({ content: 'Hi' })]],
      ['anthropic', [['message_start', JSON.stringify({ type: 'message_start', message: { usage: { input_tokens: 1 } } })], ['content_block_start', JSON.stringify({ type: 'content_block_start', index: 0, content_block: { type: 'text', text: '' } })]], ['content_block_delta', JSON.stringify({ type: 'content_block_delta', index: 0, delta: { type: 'text_delta', text: 'Hi' } })]],
      ['openai-responses', [['response.created', JSON.stringify({ type: 'response.created', sequence_number: 0, response: {} })], ['response.in_progress', JSON.stringify({ type: 'response.in_progress', sequence_number: 1, response: {} })]], ['response.output_text.delta', JSON.stringify({ type: 'response.output_text.delta', sequence_number: 2, delta: 'Hi' })]],
    ] as const) {
      const tap = new StreamTap(format);
      for (const [event, data] of before) tap.observe(event || undefined, data);
      expect(tap.firstTextAt, format).toBeNull();
      const at = performance.now();
      tap.observe(first[0] || undefined, first[1]);
      expect(tap.firstTextAt, format).toBeGreaterThanOrEqual(at);
      tap.observe(first[0] || undefined, first[1]);
      expect(tap.answerText(), format).toBe('HiHi');
    }
  });

  test('Responses: the sequence number of the last event seen (not one in its text)', () => {
    const tap = new StreamTap('openai-responses');
    expect(tap.sequence).toBe(-1);
    tap.observe('response.output_text.delta', JSON.stringify({ type: 'response.output_text.delta', delta: 'a "sequence_number":9 in the text', sequence_number: 4 }));
    expect(tap.sequence).toBe(4);
  });

  test('only events that carry state are parsed as they pass', () => {
    const tap = new StreamTap('openai-chat');
    expect(tap.observe(undefined, chunk({ content: 'x' }))).toBeUndefined();
    expect(tap.observe(undefined, JSON.stringify({ choices: [], usage: { prompt_tokens: 1, completion_tokens: 1 } }))).toMatchObject({ choices: [] });
  });

  test('with onText every piece of text is reported as it passes, tool call arguments included', () => {
    const seen: string[] = [];
    const tap = new StreamTap('openai-chat', (d) => seen.push(d));
    tap.observe(undefined, chunk({ content: 'a' }));
    tap.observe(undefined, chunk({ tool_calls: [{ index: 0, function: { arguments: '{"q":' } }] }));
    tap.observe(undefined, chunk({ tool_calls: [{ index: 0, function: { arguments: '1}' } }] }));
    expect(seen).toEqual(['a', '{"q":', '1}']);
    expect(tap.answerText()).toBe('a{"q":1}');
  });

  test('each text is reported with its own key: choices, reasoning, refusals and tool calls apart', () => {
    const seen: Array<[string, number]> = [];
    const tap = new StreamTap('openai-chat', (d, key) => seen.push([d, key]));
    tap.observe(undefined, JSON.stringify({ choices: [{ index: 0, delta: { content: 'a' } }, { index: 1, delta: { content: 'b' } }] }));
    tap.observe(undefined, chunk({ reasoning: 'r' }));
    tap.observe(undefined, chunk({ reasoning_content: 'rc', reasoning: 'rc' }));
    tap.observe(undefined, chunk({ refusal: 'no' }));
    tap.observe(undefined, chunk({ tool_calls: [{ index: 1, function: { arguments: '{}' } }] }));
    expect(seen.map(([d]) => d)).toEqual(['a', 'b', 'r', 'rc', 'no', '{}']);
    const key = (d: string) => seen.find((s) => s[0] === d)![1];
    // choice 0's content is key 0 (the unparsed fast path's); reasoning sent twice is read once, under one key
    expect(key('a')).toBe(0);
    expect(new Set(['a', 'b', 'r', 'no', '{}'].map(key)).size).toBe(5);
    expect(key('rc')).toBe(key('r'));
  });

  test('reasoning_content and a different reasoning are both read (each a text of its own); a completion too', () => {
    const seen: Array<[string, number]> = [];
    const tap = new StreamTap('openai-chat', (d, key) => seen.push([d, key]));
    tap.observe(undefined, chunk({ reasoning_content: 'think', reasoning: 'other jane@example.com' }));
    tap.observe(undefined, JSON.stringify({ choices: [{ index: 0, text: 'completed' }] }));
    expect(seen.map(([d]) => d)).toEqual(['think', 'other jane@example.com', 'completed']);
    expect(seen[0]![1]).not.toBe(seen[1]![1]);
  });

  test('Responses reasoning (summaries and text) and refusals are read as text of their own', () => {
    const seen: Array<[string, number]> = [];
    const tap = new StreamTap('openai-responses', (d, key) => seen.push([d, key]));
    const ev = (type: string, fields: object) => tap.observe(type, JSON.stringify({ type, ...fields }));
    ev('response.reasoning_summary_text.delta', { output_index: 0, summary_index: 0, delta: 's' });
    ev('response.reasoning_text.delta', { output_index: 0, content_index: 0, delta: 'r' });
    ev('response.output_text.delta', { output_index: 1, content_index: 0, delta: 'a' });
    ev('response.refusal.delta', { output_index: 1, content_index: 1, delta: 'no' });
    expect(seen.map(([d]) => d)).toEqual(['s', 'r', 'a', 'no']);
    expect(new Set(seen.map(([, key]) => key)).size).toBe(4);
    expect(tap.answerText()).toBe('srano');
  });

  test('Responses API: usage and status from response.completed, text from output_text deltas', () => {
    const tap = new StreamTap('openai-responses');
    tap.observe('response.output_text.delta', JSON.stringify({ type: 'response.output_text.delta', delta: 'Hi' }));
    tap.observe('response.completed', JSON.stringify({ type: 'response.completed', response: { status: 'completed', usage: { input_tokens: 4, output_tokens: 1, output_tokens_details: { reasoning_tokens: 0 } } } }));
    expect(tap).toMatchObject({ terminal: true, finishReason: 'completed', usage: { promptTokens: 4, completionTokens: 1 } });
    expect(tap.answerText()).toBe('Hi');
  });

  test('Anthropic: input tokens from message_start survive a message_delta whose input_tokens is null', () => {
    const tap = new StreamTap('anthropic');
    tap.observe('message_start', JSON.stringify({ type: 'message_start', message: { usage: { input_tokens: 10, output_tokens: 1, cache_read_input_tokens: 2 } } }));
    tap.observe('content_block_delta', JSON.stringify({ type: 'content_block_delta', index: 0, delta: { type: 'text_delta', text: 'Yo' } }));
    tap.observe('message_delta', JSON.stringify({ type: 'message_delta', delta: { stop_reason: 'end_turn' }, usage: { input_tokens: null, output_tokens: 7 } }));
    tap.observe('message_stop', JSON.stringify({ type: 'message_stop' }));
    expect(tap).toMatchObject({ terminal: true, finishReason: 'end_turn', usage: { promptTokens: 12, completionTokens: 7, cachedTokens: 2 } });
    expect(tap.answerText()).toBe('Yo');
  });
});

describe('chatDeltaContent (answer text without parsing the chunk)', () => {
  const chunk = (delta: object, extra: object = {}) =>
    JSON.stringify({ id: 'c1', object: 'chat.completion.chunk', choices: [{ index: 0, delta, logprobs: null, finish_reason: null }], ...extra });
  const parsed = (data: string): string =>
    ((JSON.parse(data) as { choices: Array<{ delta: { content?: string } }> }).choices[0]?.delta.content ?? '');

  test.each([
    ['plain words', chunk({ content: ' there' })],
    ['the first chunk, with the role', chunk({ role: 'assistant', content: '' })],
    ['escaped quotes, backslashes and newlines', chunk({ content: 'say "hi"\\n \\ end\n' })],
    ['a quote right after an escaped backslash', chunk({ content: 'a\\' })],
    ['unicode, as sent raw or escaped', chunk({ content: 'héllo 👋 \u2028' })],
    ['text that looks like the key', chunk({ content: '"content":"x"' })],
    ['fields after the content', chunk({ content: 'x' }, { usage: null, obfuscation: 'abc' })],
  ] as const)('reads the same text as a full parse: %s', (_name, data) => {
    expect(chatDeltaContent(data)).toBe(parsed(data));
  });

  test.each([
    ['tool call arguments', chunk({ tool_calls: [{ index: 0, function: { arguments: '{"a":1}' } }] })],
    ['reasoning text', chunk({ reasoning_content: 'hmm', content: 'x' })],
    ['two choices with content', JSON.stringify({ choices: [{ delta: { content: 'a' } }, { delta: { content: 'b' } }] })],
    ['legacy completion text', JSON.stringify({ choices: [{ text: 'a', content: 'b' }] })],
    ['no content at all', chunk({})],
    ['a cut chunk', '{"choices":[{"delta":{"content":"unterminated'],
    ['content beside another delta field', chunk({ content: 'x', refusal: null })],
    ['a first choice with tool calls, a second with content', JSON.stringify({ choices: [{ delta: { tool_calls: [] } }, { delta: { content: 'b' } }] })],
  ] as const)('leaves the chunk to the full parse: %s', (_name, data) => {
    expect(chatDeltaContent(data)).toBeUndefined();
  });

  test('a stored stream answer is the same text with and without the fast path', () => {
    const tap = new StreamTap('openai-chat');
    const pieces = ['Hel', 'lo "wor', 'ld"', '\\n', ' ✓'];
    tap.observe(undefined, chunk({ role: 'assistant', content: '' }));
    for (const p of pieces) tap.observe(undefined, chunk({ content: p }));
    tap.observe(undefined, chunk({ tool_calls: [{ index: 0, function: { arguments: '{"q":' } }] }));
    tap.observe(undefined, '[DONE]');
    expect(tap.answerText()).toBe(`${pieces.join('')}{"q":`);
  });

  test("a stream's chunks are read where its last content sat, and the full way whenever that does not fit", () => {
    const tap = new StreamTap('openai-chat');
    const at = (id: string, delta: object) => JSON.stringify({ id, object: 'chat.completion.chunk', choices: [{ index: 0, delta, logprobs: null, finish_reason: null }], usage: null });
    const sent: Array<[string, string]> = [
      [at('c1', { role: 'assistant', content: '' }), ''],
      [at('c1', { content: 'one ' }), 'one '],
      [at('c1', { content: 'two ' }), 'two '],
      // escapes at the same offset: decoded the full way
      [at('c1', { content: 'say "x"\n' }), 'say "x"\n'],
      // the layout shifts (a longer id): the delta is found again, and the next chunk is read there
      [at('c1-longer', { content: 'three ' }), 'three '],
      [at('c1-longer', { content: 'four ' }), 'four '],
      // another field beside the content, or tool calls, at the offset: not plain content
      [at('c1-longer', { content: 'five ', refusal: null }), 'five '],
      [at('c1-longer', { tool_calls: [{ index: 0, function: { arguments: '{"a":1}' } }] }), '{"a":1}'],
      // the key's text inside the content
      [at('c1-longer', { content: '"delta":{"content":"x"}' }), '"delta":{"content":"x"}'],
      [at('c1-longer', { content: 'six' }), 'six'],
    ];
    // read at the end (lazily), and as they pass (`eager`, when bodies are stored): the same text
    const eager = new StreamTap('openai-chat', null, 1, true);
    for (const [data] of sent) {
      tap.observe(undefined, data);
      eager.observe(undefined, data);
    }
    expect(tap.answerText()).toBe(sent.map(([, text]) => text).join(''));
    expect(eager.answerText()).toBe(tap.answerText());
    // several choices asked: every chunk is read the full way, each choice's text kept
    const two = new StreamTap('openai-chat', null, 2);
    const choice = (index: number, content: string) => JSON.stringify({ id: 'c', choices: [{ index, delta: { content }, finish_reason: null }] });
    for (const data of [choice(0, 'a'), choice(1, 'b'), choice(0, 'c'), JSON.stringify({ id: 'c', choices: [{ index: 0, delta: { content: 'd' } }, { index: 1, delta: { content: 'e' } }] })]) {
      two.observe(undefined, data);
    }
    expect(two.answerText()).toBe('abcde');
  });
});

describe('the response a Responses stream makes', () => {
  const response = (id: string, status: string, extra: Record<string, unknown> = {}) => ({ id, object: 'response', status, ...extra });
  const created = (r: unknown) => JSON.stringify({ type: 'response.created', sequence_number: 0, response: r });
  const delta = (n: number) => JSON.stringify({ type: 'response.output_text.delta', sequence_number: n, output_index: 0, content_index: 0, delta: 'Hi' });

  test('named by response.created, the first event, unparsed: a stream cut right after it still names it', () => {
    const tap = new StreamTap('openai-responses');
    tap.observe('response.created', created(response('resp_abc123', 'in_progress')));
    expect(tap.responseId).toBe('resp_abc123');
    tap.observe('response.output_text.delta', delta(1));
    expect(tap).toMatchObject({ responseId: 'resp_abc123', terminal: false });
  });

  test('else named by the completion event (JSON with spaces, or an id not first)', () => {
    for (const first of [
      JSON.stringify({ type: 'response.created', sequence_number: 0, response: response('resp_spaced', 'in_progress') }, null, 1),
      JSON.stringify({ type: 'response.created', sequence_number: 0, response: { object: 'response', id: 'resp_spaced' } }),
    ]) {
      const tap = new StreamTap('openai-responses');
      tap.observe('response.created', first);
      expect(tap.responseId).toBeNull();
      tap.observe('response.output_text.delta', delta(1));
      tap.observe('response.completed', JSON.stringify({ type: 'response.completed', sequence_number: 2, response: response('resp_spaced', 'completed') }));
      expect(tap.responseId).toBe('resp_spaced');
    }
  });

  test('every event parsed (post-response policies): read from the parsed response.created', () => {
    const tap = new StreamTap('openai-responses', () => {});
    tap.observeParsed('response.created', { type: 'response.created', sequence_number: 0, response: { object: 'response', id: 'resp_parsed' } });
    expect(tap.responseId).toBe('resp_parsed');
  });

  test('only the top-level response of the event counts', () => {
    expect(leadingResponseId(created(response('resp_1', 'queued')))).toBe('resp_1');
    expect(leadingResponseId(JSON.stringify({ response: { id: 'resp_2' }, type: 'response.created' }))).toBe('resp_2');
    // an object nested before it (here in metadata-like data), or text that only looks like one
    expect(leadingResponseId(JSON.stringify({ type: 'x', other: { response: { id: 'resp_fake' } }, response: response('resp_3', 'queued') }))).toBeNull();
    expect(leadingResponseId(JSON.stringify({ type: '"response":{"id":"resp_fake"', response: response('resp_4', 'queued') }))).toBeNull();
    expect(leadingResponseId(JSON.stringify({ type: 'x', note: 'a {"response":{"id":"resp_fake"}}' }))).toBeNull();
    // an id with an escape is not read unparsed
    expect(leadingResponseId('{"response":{"id":"resp_\\"x"}}')).toBeNull();
    expect(leadingResponseId('{"response":{"id":""}}')).toBeNull();
    expect(leadingResponseId('[DONE]')).toBeNull();
  });

  test('chat streams name none', () => {
    const tap = new StreamTap('openai-chat');
    tap.observe(undefined, JSON.stringify({ response: { id: 'resp_x' } }));
    expect(tap.responseId).toBeNull();
  });
});

describe('a chat chunk of megabytes (an image in one delta)', () => {
  test('is read by parsing it, not by the fast path, whose regex would overflow the stack', () => {
    const content = 'iVBORw0KGgo\\n'.repeat(1_000_000); // 13 MB, a JSON escape every 13 characters
    const data = `{"id":"c","object":"chat.completion.chunk","choices":[{"index":0,"delta":{"content":"${content}"},"finish_reason":null}]}`;
    expect(chatContentSpan(data)).toBeUndefined();
    const seen: string[] = [];
    const tap = new StreamTap('openai-chat', (d) => seen.push(d));
    expect(tap.observeContent(data)).toBeUndefined();
    tap.observe(undefined, data);
    expect(seen.join('').length).toBe(12_000_000);
  });
});
