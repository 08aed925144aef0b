import { createStreamFilters, parsePolicies } from '@watchllm/policies';
import { describe, expect, test } from 'vitest';
import { StreamTap } from './tap.ts';
import { StreamTextRewriter } from './text-filter.ts';

function rewriter(): StreamTextRewriter {
  const r = parsePolicies([{ name: 'mask', detect: ['email'], action: 'redact' }]);
  if (!r.ok) throw new Error('policies rejected');
  const filters = createStreamFilters(r.policies, { endpoint: 'chat', model: 'gpt-4o', meta: {} });
  return new StreamTextRewriter(filters!);
}

const chunk = (choices: unknown[]) => ({ id: 'c', object: 'chat.completion.chunk', choices });

describe('StreamTextRewriter', () => {
  test('holds each choice apart and lets a choice finish with what it held, masked', () => {
    const r = rewriter();
    const a = chunk([{ index: 0, delta: { content: 'mail jane@exa' } }, { index: 1, delta: { content: 'no ma' } }]);
    expect(r.chatChunk(a)).toBe(true);
    expect(a.choices).toEqual([{ index: 0, delta: { content: 'mail ' } }, { index: 1, delta: { content: 'no ' } }]);
    const b = chunk([{ index: 0, delta: { content: 'mple.com' }, finish_reason: null }]);
    r.chatChunk(b);
    expect(b.choices).toEqual([{ index: 0, delta: { content: '' }, finish_reason: null }]);
    const end = chunk([{ index: 0, delta: {}, finish_reason: 'stop' }, { index: 1, delta: { content: 'il' }, finish_reason: 'stop' }]);
    r.chatChunk(end);
    expect(end.choices).toEqual([
      { index: 0, delta: { content: '[EMAIL_1]' }, finish_reason: 'stop' },
      { index: 1, delta: { content: 'mail' }, finish_reason: 'stop' },
    ]);
    // the role chunk and usage chunk pass untouched
    expect(r.chatChunk(chunk([{ index: 0, delta: { role: 'assistant', content: '' } }]))).toBe(false);
    expect(r.chatChunk({ choices: [], usage: { prompt_tokens: 1 } })).toBe(false);
  });

  test('a legacy completions stream (choices[].text) is held back and masked like chat deltas', () => {
    const r = rewriter();
    const a = { object: 'text_completion', choices: [{ index: 0, text: 'mail jane@exa', finish_reason: null }] };
    expect(r.chatChunk(a)).toBe(true);
    const b = { object: 'text_completion', choices: [{ index: 0, text: 'mple.com now', finish_reason: null }] };
    r.chatChunk(b);
    const end = { object: 'text_completion', choices: [{ index: 0, text: '', finish_reason: 'stop' }] };
    r.chatChunk(end);
    const sent = [a, b, end].map((x) => x.choices[0]!.text).join('');
    expect(sent).toBe('mail [EMAIL_1] now');
    expect(a.choices[0]!.text).not.toContain('jane');
  });

  test('an Anthropic text block ends with one more text_delta holding what was kept back', () => {
    const r = rewriter();
    expect(r.anthropicEvent({ type: 'content_block_start', index: 0, content_block: { type: 'text', text: '' } })).toBeNull();
    expect(r.anthropicEvent({ type: 'content_block_delta', index: 0, delta: { type: 'text_delta', text: 'to jane@example.com' } })).toEqual([
      { type: 'content_block_delta', index: 0, delta: { type: 'text_delta', text: 'to ' } },
    ]);
    expect(r.anthropicEvent({ type: 'content_block_stop', index: 0 })).toEqual([
      { type: 'content_block_delta', index: 0, delta: { type: 'text_delta', text: '[EMAIL_1]' } },
      { type: 'content_block_stop', index: 0 },
    ]);
    // a tool call's input is masked too, each block on its own; each ending before its block's stop
    expect(r.anthropicEvent({ type: 'content_block_delta', index: 1, delta: { type: 'input_json_delta', partial_json: '{"to": "bob@exa' } })).toEqual([
      { type: 'content_block_delta', index: 1, delta: { type: 'input_json_delta', partial_json: '{"to": ' } },
    ]);
    // signed thinking passes as it is (the provider refuses a changed block when it comes back)
    expect(r.anthropicEvent({ type: 'content_block_delta', index: 2, delta: { type: 'thinking_delta', thinking: 'ask jane@example.com first' } })).toBeNull();
    expect(r.anthropicEvent({ type: 'content_block_delta', index: 1, delta: { type: 'input_json_delta', partial_json: 'mple.org"}' } })).toEqual([
      { type: 'content_block_delta', index: 1, delta: { type: 'input_json_delta', partial_json: '' } },
    ]);
    expect(r.anthropicEvent({ type: 'content_block_stop', index: 1 })).toEqual([
      { type: 'content_block_delta', index: 1, delta: { type: 'input_json_delta', partial_json: '"[EMAIL_2]"}' } },
      { type: 'content_block_stop', index: 1 },
    ]);
    expect(r.anthropicEvent({ type: 'content_block_delta', index: 2, delta: { type: 'signature_delta', signature: 'c2ln' } })).toBeNull();
    expect(r.anthropicEvent({ type: 'content_block_stop', index: 2 })).toBeNull();
  });
});

describe('StreamTextRewriter on Anthropic texts that come whole', () => {
  test("a web search's results and a citation are masked as a complete answer's are; ids, URLs and encrypted content are not", () => {
    const r = rewriter();
    const results = {
      type: 'content_block_start',
      index: 1,
      content_block: {
        type: 'web_search_tool_result',
        tool_use_id: 'srvtoolu_1',
        content: [{ type: 'web_search_result', title: 'Contact jane@example.com', url: 'https://example.com/jane@example.com', encrypted_content: 'EqgfCioIARgBIiQ', page_age: null }],
      },
    };
    expect(r.anthropicEvent(results)).toEqual([
      { ...results, content_block: { ...results.content_block, content: [{ ...results.content_block.content[0], title: 'Contact [EMAIL_1]' }] } },
    ]);
    const citation = { type: 'web_search_result_location', url: 'https://example.com', title: 'x', encrypted_index: 'Eo8BCioIAhgB', cited_text: 'write to jane@example.com' };
    const cite = { type: 'content_block_delta', index: 2, delta: { type: 'citations_delta', citation } };
    expect(r.anthropicEvent(cite)).toEqual([{ ...cite, delta: { type: 'citations_delta', citation: { ...citation, cited_text: 'write to [EMAIL_1]' } } }]);
    // a tool call's start and signed thinking pass as they are
    expect(r.anthropicEvent({ type: 'content_block_start', index: 3, content_block: { type: 'tool_use', id: 'toolu_1', name: 'f', input: {} } })).toBeNull();
    expect(r.anthropicEvent({ type: 'content_block_start', index: 4, content_block: { type: 'thinking', thinking: '', signature: '' } })).toBeNull();
  });
});

describe('StreamTextRewriter and an Anthropic message that ends without closing its block', () => {
  test('what the block\'s filter held goes out before message_delta', () => {
    const r = rewriter();
    r.anthropicEvent({ type: 'content_block_start', index: 0, content_block: { type: 'text', text: '' } });
    r.anthropicEvent({ type: 'content_block_delta', index: 0, delta: { type: 'text_delta', text: 'Mail jane@example.com' } });
    const end = { type: 'message_delta', delta: { stop_reason: 'end_turn' }, usage: { output_tokens: 5 } };
    expect(r.anthropicEvent(end)).toEqual([{ type: 'content_block_delta', index: 0, delta: { type: 'text_delta', text: '[EMAIL_1]' } }, end]);
    expect(r.anthropicEvent({ type: 'message_stop' })).toBeNull();
  });
});

describe('StreamTextRewriter on the other texts of a chat choice', () => {
  test('reasoning, refusals and each tool call\'s arguments are masked, and the finish chunk carries what each held', () => {
    const r = rewriter();
    const a = chunk([{ index: 0, delta: { reasoning_content: 'ask jane@example.com', reasoning: 'ask jane@example.com' } }]);
    expect(r.chatChunk(a)).toBe(true);
    expect(a.choices).toEqual([{ index: 0, delta: { reasoning_content: 'ask ', reasoning: 'ask ' } }]);
    const calls = chunk([
      { index: 0, delta: { tool_calls: [{ index: 0, id: 'call_1', type: 'function', function: { name: 'send', arguments: '{"to": "bob@exa' } }] } },
    ]);
    r.chatChunk(calls);
    expect(calls.choices[0]).toEqual({ index: 0, delta: { tool_calls: [{ index: 0, id: 'call_1', type: 'function', function: { name: 'send', arguments: '{"to": ' } }] } });
    const more = chunk([{ index: 0, delta: { tool_calls: [{ index: 0, function: { arguments: 'mple.org"}' } }, { index: 1, function: { arguments: '{}' } }] } }]);
    r.chatChunk(more);
    const refusal = chunk([{ index: 0, delta: { refusal: 'no, jane@example.com' } }]);
    r.chatChunk(refusal);
    expect(refusal.choices[0]).toEqual({ index: 0, delta: { refusal: 'no, ' } });
    const end = chunk([{ index: 0, delta: {}, finish_reason: 'tool_calls' }]);
    expect(r.chatChunk(end)).toBe(true);
    expect(end.choices[0]).toEqual({
      index: 0,
      delta: {
        reasoning_content: '[EMAIL_1]',
        reasoning: '[EMAIL_1]',
        tool_calls: [
          { index: 0, function: { arguments: '"[EMAIL_2]"}' } },
          { index: 1, function: { arguments: '{}' } },
        ],
        refusal: '[EMAIL_1]',
      },
      finish_reason: 'tool_calls',
    });
  });

  test('a stream that ends without a finish reason gets each held text in a last chunk; a completions stream a text_completion one', () => {
    const r = rewriter();
    r.chatChunk(chunk([{ index: 0, delta: { tool_calls: [{ index: 0, function: { arguments: '{"a":"jane@example.com"}' } }] } }]));
    r.chatChunk({ object: 'text_completion', choices: [{ index: 1, text: 'to bob@example.org', finish_reason: null }] });
    const ctx = { id: 'x', created: 1, model: 'm' };
    expect(r.chatRest(ctx).map((c) => c.data)).toEqual([
      { ...ctx, object: 'chat.completion.chunk', choices: [{ index: 0, delta: { tool_calls: [{ index: 0, function: { arguments: '{"a":"[EMAIL_1]"}' } }] }, finish_reason: null }] },
      { ...ctx, object: 'text_completion', choices: [{ index: 1, text: '[EMAIL_2]', logprobs: null, finish_reason: null }] },
    ]);
  });
});

describe('StreamTextRewriter and logprobs', () => {
  test('logprobs, which repeat the text token by token, leave as null (chat) or empty (Responses)', () => {
    const r = rewriter();
    const c = chunk([{ index: 0, delta: { content: 'jane' }, logprobs: { content: [{ token: 'jane', logprob: -0.1 }] } }]);
    expect(r.chatChunk(c)).toBe(true);
    expect(c.choices).toEqual([{ index: 0, delta: { content: '' }, logprobs: null }]);
    const d = { type: 'response.output_text.delta', output_index: 0, content_index: 0, delta: 'jane', logprobs: [{ token: 'jane' }] };
    expect(r.responsesEvent(d)).toEqual([{ ...d, delta: '', logprobs: [] }]);
  });
});

describe('StreamTextRewriter on Responses API events', () => {
  test('masks deltas, ends a part with what was held, and puts the sent text in every event that repeats it', () => {
    const r = rewriter();
    const at = { item_id: 'msg_1', output_index: 0, content_index: 0 };
    const d = { type: 'response.output_text.delta', ...at, delta: 'to jane@example.com', sequence_number: 4 };
    expect(r.responsesEvent(d)).toEqual([{ ...d, delta: 'to ' }]);
    const done = { type: 'response.output_text.done', ...at, text: 'to jane@example.com', sequence_number: 5 };
    expect(r.responsesEvent(done)).toEqual([
      { type: 'response.output_text.delta', ...at, delta: '[EMAIL_1]', logprobs: [], sequence_number: 5 },
      { ...done, text: 'to [EMAIL_1]' },
    ]);
    const part = { type: 'response.content_part.done', ...at, part: { type: 'output_text', text: 'to jane@example.com' } };
    expect(r.responsesEvent(part)).toEqual([{ ...part, part: { type: 'output_text', text: 'to [EMAIL_1]' } }]);
    const message = { type: 'message', content: [{ type: 'output_text', text: 'to jane@example.com' }] };
    const completed = { type: 'response.completed', response: { output: [message, { type: 'function_call', arguments: '{}' }] } };
    expect(r.responsesEvent(completed)).toEqual([
      { type: 'response.completed', response: { output: [{ type: 'message', content: [{ type: 'output_text', text: 'to [EMAIL_1]' }] }, { type: 'function_call', arguments: '{}' }] } },
    ]);
  });

  test('sequence numbers stay unique and in order when a held rest is added before a done event', () => {
    const r = rewriter();
    const at = { item_id: 'msg_1', output_index: 0, content_index: 0 };
    const events = [
      { type: 'response.output_text.delta', ...at, delta: 'to jane@exa', sequence_number: 3 },
      { type: 'response.output_text.done', ...at, text: 'to jane@exa', sequence_number: 4 },
      { type: 'response.content_part.done', ...at, part: { type: 'output_text', text: 'to jane@exa' }, sequence_number: 5 },
      { type: 'response.output_text.delta', item_id: 'msg_2', output_index: 1, content_index: 0, delta: 'x', sequence_number: 6 },
      { type: 'response.in_progress', sequence_number: 7 },
    ];
    const sent = events.flatMap((e) => r.responsesEvent(structuredClone(e)) ?? [e]);
    expect(sent.map((e) => [e.type, e.sequence_number])).toEqual([
      ['response.output_text.delta', 3],
      ['response.output_text.delta', 4],
      ['response.output_text.done', 5],
      ['response.content_part.done', 6],
      ['response.output_text.delta', 7],
      ['response.in_progress', 8],
    ]);
  });

  test('function-call arguments, refusals and reasoning summaries are masked and repeated as sent', () => {
    const r = rewriter();
    const args = { type: 'response.function_call_arguments.delta', item_id: 'fc_1', output_index: 1, delta: '{"to":"jane@example.com"', sequence_number: 3 };
    expect(r.responsesEvent(args)).toEqual([{ ...args, delta: '' }]);
    const argsDone = { type: 'response.function_call_arguments.done', item_id: 'fc_1', output_index: 1, arguments: '{"to":"jane@example.com"}', sequence_number: 4 };
    expect(r.responsesEvent(argsDone)).toEqual([
      { type: 'response.function_call_arguments.delta', item_id: 'fc_1', output_index: 1, delta: '{"to":"[EMAIL_1]"', sequence_number: 4 },
      { ...argsDone, arguments: '{"to":"[EMAIL_1]"' },
    ]);
    const summary = { type: 'response.reasoning_summary_text.delta', output_index: 0, summary_index: 0, delta: 'mail bob@example.org now' };
    expect(r.responsesEvent(summary)).toEqual([{ ...summary, delta: 'mail [EMAIL_2] ' }]);
    const refusal = { type: 'response.refusal.done', output_index: 2, content_index: 0, refusal: 'not to jane@example.com' };
    // a text that came whole, without deltas
    expect(r.responsesEvent(refusal)).toEqual([{ ...refusal, refusal: 'not to [EMAIL_1]' }]);
    const completed = {
      type: 'response.completed',
      response: {
        output: [
          { type: 'reasoning', summary: [{ type: 'summary_text', text: 'mail bob@example.org now' }] },
          { type: 'function_call', arguments: '{"to":"jane@example.com"}' },
          { type: 'message', content: [{ type: 'refusal', refusal: 'not to jane@example.com' }] },
        ],
      },
    };
    expect(r.responsesEvent(completed)).toEqual([
      {
        type: 'response.completed',
        response: {
          output: [
            { type: 'reasoning', summary: [{ type: 'summary_text', text: 'mail [EMAIL_2] now' }] },
            { type: 'function_call', arguments: '{"to":"[EMAIL_1]"' },
            { type: 'message', content: [{ type: 'refusal', refusal: 'not to [EMAIL_1]' }] },
          ],
        },
      },
    ]);
  });
});

describe('StreamTextRewriter on chat chunks read without parsing', () => {
  test('replaces the content in the raw data, escapes and all; chunks with state are left to the parse', () => {
    const r = rewriter();
    const tap = new StreamTap('openai-chat', () => {});
    const chunk = (delta: unknown, finish: string | null = null) => JSON.stringify({ id: 'c', choices: [{ index: 0, delta, finish_reason: finish }] });
    const data = chunk({ content: 'Say "hi"\n\u00e9 to jane@exa' });
    const span = tap.observeContent(data)!;
    expect(span.text).toBe('Say "hi"\n\u00e9 to jane@exa');
    expect(JSON.parse(r.chatData(data, span))).toEqual(JSON.parse(chunk({ content: 'Say "hi"\n\u00e9 to ' })));
    // the role chunk passes as it is; a finish reason or usage needs the parse
    const role = chunk({ role: 'assistant', content: '' });
    expect(r.chatData(role, tap.observeContent(role)!)).toBe(role);
    expect(tap.observeContent(chunk({}, 'stop'))).toBeUndefined();
    expect(tap.observeContent(JSON.stringify({ choices: [], usage: { prompt_tokens: 1 } }))).toBeUndefined();
    expect(tap.observeContent(chunk({ tool_calls: [{ index: 0, function: { arguments: '{}' } }] }))).toBeUndefined();
    expect(tap.answerText()).toBe('Say "hi"\n\u00e9 to jane@exa');
  });
});

describe('StreamTextRewriter at the end of a chat stream', () => {
  test('chatRest gives each choice what its filter still holds, once (for a stream that ends without a finish reason)', () => {
    const r = rewriter();
    const a = chunk([{ index: 0, delta: { content: 'mail jane@example.com' } }, { index: 1, delta: { content: 'last words' } }]);
    r.chatChunk(a);
    const ctx = { id: 'chatcmpl-1', created: 1, model: 'gpt-4o' };
    const rest = r.chatRest(ctx).map((c) => c.data);
    expect(rest).toEqual([
      { ...ctx, object: 'chat.completion.chunk', choices: [{ index: 0, delta: { content: '[EMAIL_1]' }, finish_reason: null }] },
      { ...ctx, object: 'chat.completion.chunk', choices: [{ index: 1, delta: { content: 'words' }, finish_reason: null }] },
    ]);
    expect(r.chatRest(ctx)).toEqual([]);
  });
});
