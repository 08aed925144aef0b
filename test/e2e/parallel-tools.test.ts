/**
 * Parallel tool calls through the gateway: a client gets every call of an answer, in order, with
 * complete arguments, streamed and not, whichever provider answers; and the next turn, with one
 * result per call, reaches the provider in the shape it requires (Anthropic: every tool_result in
 * the one user turn after the tool_use blocks; Gemini: as many functionResponse parts as there were
 * functionCall parts, in one content). The fake refuses other shapes as those APIs do.
 */
import Anthropic from '@anthropic-ai/sdk';
import OpenAI from 'openai';
import { afterAll, beforeAll, beforeEach, describe, expect, test } from 'vitest';
import type { ToolCallSpec } from '../fake-provider/index.ts';
import { startStack, type Stack } from './harness.ts';

let s: Stack;
let openai: OpenAI;
let anthropic: Anthropic;

beforeAll(async () => {
  s = await startStack();
  openai = new OpenAI({ baseURL: `${s.url}/v1`, apiKey: 'sk-test-key', maxRetries: 0 });
  anthropic = new Anthropic({ baseURL: s.url, apiKey: 'sk-ant-test-key', maxRetries: 0 });
});
afterAll(() => s.close());
beforeEach(() => {
  s.fake.reset();
  s.events.length = 0;
});

const CALLS: ToolCallSpec[] = [
  { name: 'get_weather', arguments: { city: 'Paris', unit: 'celsius' } },
  { name: 'get_weather', arguments: { city: 'Oslo', unit: 'celsius', days: [1, 2] } },
  { name: 'get_time', arguments: { zone: 'Europe/Paris' } },
];
const expected = CALLS.map((c) => ({ name: c.name, arguments: c.arguments }));

const tools: OpenAI.ChatCompletionTool[] = ['get_weather', 'get_time'].map((name) => ({
  type: 'function',
  function: { name, description: `the ${name} tool`, parameters: { type: 'object', properties: { city: { type: 'string' } } } },
}));
const ask: OpenAI.ChatCompletionMessageParam[] = [{ role: 'user', content: 'weather in Paris and Oslo, and the time in Paris?' }];

/** The function calls of a chat message as name + parsed arguments. */
function calls(message: OpenAI.ChatCompletionMessage | undefined): Array<{ name: string; arguments: unknown }> {
  return (message?.tool_calls ?? []).map((c) => (c.type === 'function' ? { name: c.function.name, arguments: JSON.parse(c.function.arguments) } : { name: '', arguments: null }));
}

/** Reads a chat stream; each call's deltas by index, asserting indexes start at 0 and never go back. */
async function streamedCalls(stream: AsyncIterable<OpenAI.ChatCompletionChunk>): Promise<{
  calls: Array<{ id: string; name: string; arguments: unknown }>; finish: string | null; text: string;
}> {
  const byIndex: Array<{ id: string; name: string; args: string }> = [];
  let lastIndex = 0;
  let finish: string | null = null;
  let text = '';
  for await (const chunk of stream) {
    const choice = chunk.choices[0];
    text += choice?.delta.content ?? '';
    for (const t of choice?.delta.tool_calls ?? []) {
      expect(t.index).toBeGreaterThanOrEqual(lastIndex);
      lastIndex = t.index;
      const slot = (byIndex[t.index] ??= { id: '', name: '', args: '' });
      if (t.id) slot.id = t.id;
      if (t.function?.name) slot.name += t.function.name;
      slot.args += t.function?.arguments ?? '';
    }
    finish = choice?.finish_reason ?? finish;
  }
  return { calls: byIndex.map((c) => ({ id: c.id, name: c.name, arguments: JSON.parse(c.args) })), finish, text };
}

/** The follow-up turn: the assistant message as the client got it, then one tool result per call. */
function followUp(message: OpenAI.ChatCompletionMessage): OpenAI.ChatCompletionMessageParam[] {
  const results = (message.tool_calls ?? []).map((c, i): OpenAI.ChatCompletionToolMessageParam => ({ role: 'tool', tool_call_id: c.id, content: `{"result":${i}}` }));
  return [...ask, message, ...results];
}

describe.each([
  ['an Anthropic model', 'claude-sonnet-4-5'],
  ['a Gemini model', 'gemini-2.5-flash'],
  ['an OpenAI model', 'gpt-4o'],
] as const)('openai SDK -> %s', (_title, model) => {
  test('a non-streamed answer carries every tool call, in order, with its arguments', async () => {
    s.fake.next({ toolCalls: CALLS });
    const r = await openai.chat.completions.create({ model, tools, messages: ask });
    expect(r.choices[0]?.finish_reason).toBe('tool_calls');
    expect(calls(r.choices[0]?.message)).toEqual(expected);
    expect(new Set(r.choices[0]?.message.tool_calls?.map((c) => c.id)).size).toBe(CALLS.length);
    const [x] = await s.waitForEvents(1);
    expect(x).toMatchObject({ outcome: 'success', response: { status: 200, finishReason: 'tool_calls' } });
    // the fake's count: 10 prompt words; each call 1 + the words of its JSON arguments (2 + 2 + 2)
    expect(x!.response.usage).toMatchObject({ promptTokens: 10, completionTokens: 6 });
    expect(r.usage).toMatchObject({ prompt_tokens: 10, completion_tokens: 6 });
  });

  test('a streamed answer gives each call its own index 0..n, with complete arguments', async () => {
    s.fake.next({ text: 'Let me check.', toolCalls: CALLS });
    const stream = await openai.chat.completions.create({ model, tools, messages: ask, stream: true, stream_options: { include_usage: true } });
    const got = await streamedCalls(stream);
    expect(got.text).toBe('Let me check.');
    expect(got.calls.map(({ name, arguments: a }) => ({ name, arguments: a }))).toEqual(expected);
    expect(got.calls.every((c) => c.id !== '')).toBe(true);
    expect(new Set(got.calls.map((c) => c.id)).size).toBe(CALLS.length);
    expect(got.finish).toBe('tool_calls');
  });

  test('the SDK\'s stream helper assembles the same message as the non-streamed answer', async () => {
    s.fake.next({ toolCalls: CALLS });
    const done = await openai.chat.completions.stream({ model, tools, messages: ask }).finalChatCompletion();
    expect(calls(done.choices[0]?.message)).toEqual(expected);
  });

  test('the follow-up turn with one result per call is accepted and answered', async () => {
    s.fake.next({ toolCalls: CALLS });
    const first = await openai.chat.completions.create({ model, tools, messages: ask });
    const second = await openai.chat.completions.create({ model, tools, messages: followUp(first.choices[0]!.message) });
    expect(second.choices[0]).toMatchObject({ finish_reason: 'stop', message: { content: `Hello from fake ${model}` } });
    expect(s.fake.calls[1]?.status).toBe(200);
  });
});

describe('with Anthropic extended thinking on', () => {
  test('a streamed answer with thinking and three calls, then the follow-up with its signed thinking and every result', async () => {
    s.fake.next({ toolCalls: CALLS });
    const first = await openai.chat.completions.stream({ model: 'claude-sonnet-4-5', reasoning_effort: 'low', tools, messages: ask }).finalChatCompletion();
    const message = first.choices[0]!.message;
    expect(calls(message)).toEqual(expected);
    await openai.chat.completions.create({ model: 'claude-sonnet-4-5', reasoning_effort: 'low', tools, messages: followUp(message) });
    expect(s.fake.calls[1]?.status).toBe(200);
    const msgs = (s.fake.calls[1]?.body as { messages: Array<{ role: string; content: Array<{ type: string }> }> }).messages;
    expect(msgs.map((m) => m.role)).toEqual(['user', 'assistant', 'user']);
    expect(msgs[2]?.content.map((b) => b.type)).toEqual(['tool_result', 'tool_result', 'tool_result']);
  });

  test('non-streamed: the assistant turn goes back as thinking then every tool_use', async () => {
    s.fake.next({ toolCalls: CALLS });
    const first = await openai.chat.completions.create({ model: 'claude-sonnet-4-5', reasoning_effort: 'low', tools, messages: ask });
    const second = await openai.chat.completions.create({ model: 'claude-sonnet-4-5', reasoning_effort: 'low', tools, messages: followUp(first.choices[0]!.message) });
    expect(second.choices[0]?.finish_reason).toBe('stop');
    const msgs = (s.fake.calls[1]?.body as { messages: Array<{ role: string; content: Array<{ type: string }> }> }).messages;
    expect(msgs[1]?.content.map((b) => b.type)).toEqual(['thinking', 'tool_use', 'tool_use', 'tool_use']);
  });
});

describe('parallel_tool_calls: false', () => {
  test('to an Anthropic model: sent as disable_parallel_tool_use, and the client gets one call', async () => {
    s.fake.next({ toolCalls: CALLS });
    const r = await openai.chat.completions.create({ model: 'claude-sonnet-4-5', tools, messages: ask, parallel_tool_calls: false });
    expect(calls(r.choices[0]?.message)).toEqual(expected.slice(0, 1));
    expect(s.fake.calls[0]?.body).toMatchObject({ tool_choice: { type: 'auto', disable_parallel_tool_use: true } });
  });

  test('to a Gemini model, which cannot be limited to one call: a 400 naming the parameter, Gemini not called', async () => {
    const err = await openai.chat.completions.create({ model: 'gemini-2.5-flash', tools, messages: ask, parallel_tool_calls: false }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(OpenAI.BadRequestError);
    expect((err as InstanceType<typeof OpenAI.BadRequestError>).error).toMatchObject({ param: 'parallel_tool_calls' });
    expect(s.fake.calls).toHaveLength(0);
  });
});

describe('the follow-up turn as each provider receives it', () => {
  test('Anthropic: one assistant turn of tool_use blocks, then one user turn with every tool_result, in order', async () => {
    s.fake.next({ toolCalls: CALLS });
    const first = await openai.chat.completions.create({ model: 'claude-sonnet-4-5', tools, messages: ask });
    const ids = first.choices[0]!.message.tool_calls!.map((c) => c.id);
    await openai.chat.completions.create({ model: 'claude-sonnet-4-5', tools, messages: followUp(first.choices[0]!.message) });
    const msgs = (s.fake.calls[1]?.body as { messages: Array<{ role: string; content: unknown }> }).messages;
    expect(msgs.map((m) => m.role)).toEqual(['user', 'assistant', 'user']);
    expect(msgs[1]?.content).toEqual(CALLS.map((c, i) => ({ type: 'tool_use', id: ids[i], name: c.name, input: c.arguments })));
    expect(msgs[2]?.content).toEqual(ids.map((id, i) => expect.objectContaining({ type: 'tool_result', tool_use_id: id, content: `{"result":${i}}` })));
  });

  test('Gemini: one model content of functionCall parts, then one content with a functionResponse per call, in order', async () => {
    s.fake.next({ toolCalls: CALLS });
    const first = await openai.chat.completions.create({ model: 'gemini-2.5-flash', tools, messages: ask });
    await openai.chat.completions.create({ model: 'gemini-2.5-flash', tools, messages: followUp(first.choices[0]!.message) });
    const contents = (s.fake.calls[1]?.body as { contents: Array<{ role: string; parts: Array<Record<string, unknown>> }> }).contents;
    expect(contents.map((c) => c.role)).toEqual(['user', 'model', 'user']);
    expect(contents[1]?.parts).toEqual(CALLS.map((c) => expect.objectContaining({ functionCall: expect.objectContaining({ name: c.name, args: c.arguments }) })));
    expect(contents[2]?.parts.map((p) => (p.functionResponse as { name: string }).name)).toEqual(CALLS.map((c) => c.name));
  });
});

describe('@anthropic-ai/sdk -> a native Anthropic model', () => {
  const anthropicTools = ['get_weather', 'get_time'].map((name) => ({ name, description: name, input_schema: { type: 'object' as const, properties: {} } }));
  const messages: Anthropic.MessageParam[] = [{ role: 'user', content: 'weather in Paris and Oslo, and the time in Paris?' }];
  const uses = (content: Anthropic.ContentBlock[]): Array<{ name: string; arguments: unknown }> =>
    content.flatMap((b) => (b.type === 'tool_use' ? [{ name: b.name, arguments: b.input }] : []));

  test('a non-streamed message carries every tool_use block, in order', async () => {
    s.fake.next({ toolCalls: CALLS });
    const m = await anthropic.messages.create({ model: 'claude-sonnet-4-5', max_tokens: 200, tools: anthropicTools, messages });
    expect(m.stop_reason).toBe('tool_use');
    expect(uses(m.content)).toEqual(expected);
  });

  test('a streamed message gives each block its own index, with complete input', async () => {
    s.fake.next({ text: 'Checking.', toolCalls: CALLS });
    const stream = anthropic.messages.stream({ model: 'claude-sonnet-4-5', max_tokens: 200, tools: anthropicTools, messages });
    const json = new Map<number, string>();
    stream.on('streamEvent', (e) => {
      if (e.type === 'content_block_delta' && e.delta.type === 'input_json_delta') json.set(e.index, (json.get(e.index) ?? '') + e.delta.partial_json);
    });
    const final = await stream.finalMessage();
    expect(final.content.map((b) => b.type)).toEqual(['text', 'tool_use', 'tool_use', 'tool_use']);
    expect(uses(final.content)).toEqual(expected);
    expect([...json.entries()].map(([i, j]) => [i, JSON.parse(j)])).toEqual(CALLS.map((c, i) => [i + 1, c.arguments]));
    const [x] = await s.waitForEvents(1);
    expect(x).toMatchObject({ surface: 'anthropic', outcome: 'success', response: { finishReason: 'tool_use' } });
  });

  test('the follow-up with every tool_result in one user turn reaches Anthropic unchanged', async () => {
    s.fake.next({ toolCalls: CALLS });
    const m = await anthropic.messages.create({ model: 'claude-sonnet-4-5', max_tokens: 200, tools: anthropicTools, messages });
    const results = m.content.flatMap((b, i) => (b.type === 'tool_use' ? [{ type: 'tool_result' as const, tool_use_id: b.id, content: `r${i}` }] : []));
    const next: Anthropic.MessageParam[] = [...messages, { role: 'assistant', content: m.content }, { role: 'user', content: results }];
    const second = await anthropic.messages.create({ model: 'claude-sonnet-4-5', max_tokens: 200, tools: anthropicTools, messages: next });
    expect(second.stop_reason).toBe('end_turn');
    expect((s.fake.calls[1]?.body as { messages: unknown[] }).messages).toEqual(JSON.parse(JSON.stringify(next)));
  });
});

describe('openai SDK -> the Responses API', () => {
  test('several function_call items come through, streamed and not', async () => {
    const fnTools: OpenAI.Responses.Tool[] = [{ type: 'function', name: 'get_weather', parameters: {}, strict: false }];
    s.fake.next({ toolCalls: CALLS });
    const r = await openai.responses.create({ model: 'gpt-4.1', input: 'weather?', tools: fnTools });
    const items = (out: OpenAI.Responses.ResponseOutputItem[]): unknown[] =>
      out.flatMap((o) => (o.type === 'function_call' ? [{ name: o.name, arguments: JSON.parse(o.arguments) }] : []));
    expect(items(r.output)).toEqual(expected);
    s.fake.next({ toolCalls: CALLS });
    const stream = openai.responses.stream({ model: 'gpt-4.1', input: 'weather?', tools: fnTools });
    const done: string[] = [];
    for await (const e of stream) if (e.type === 'response.function_call_arguments.done') done.push(`${e.output_index}:${e.arguments}`);
    expect(done).toEqual(CALLS.map((c, i) => `${i}:${JSON.stringify(c.arguments)}`));
    expect(items((await stream.finalResponse()).output)).toEqual(expected);
  });
});
