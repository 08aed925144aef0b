/**
 * `Scenario.toolCalls`: several tool calls in one answer, in each provider's wire format, checked
 * with the official SDKs (and raw fetch for Gemini, which has no SDK installed here).
 */
import Anthropic from '@anthropic-ai/sdk';
import OpenAI from 'openai';
import { afterAll, beforeAll, beforeEach, describe, expect, test } from 'vitest';
import { startFakeProvider, type FakeProvider, type ToolCallSpec } from './index.ts';
import { parseScenario } from './scenario.ts';

let fake: FakeProvider;
let openai: OpenAI;
let anthropic: Anthropic;

beforeAll(async () => {
  fake = await startFakeProvider();
  openai = new OpenAI({ apiKey: 'sk-test', baseURL: `${fake.url}/v1`, maxRetries: 0 });
  anthropic = new Anthropic({ apiKey: 'sk-ant-test', baseURL: fake.url, maxRetries: 0 });
});
afterAll(() => fake.close());
beforeEach(() => fake.reset());

const CALLS: ToolCallSpec[] = [
  { name: 'get_weather', arguments: { city: 'Paris', unit: 'celsius' } },
  { name: 'get_weather', arguments: { city: 'Oslo', unit: 'celsius' } },
  { name: 'get_time', arguments: {} },
];
const chatTools = ['get_weather', 'get_time'].map((name) => ({
  type: 'function' as const, function: { name, parameters: { type: 'object', properties: { city: { type: 'string' } } } },
}));
const user = [{ role: 'user' as const, content: 'weather in Paris and Oslo, and the time?' }];

describe('OpenAI chat completions', () => {
  test('answers every call in message.tool_calls, in order, with distinct ids and finish_reason tool_calls', async () => {
    fake.next({ toolCalls: CALLS });
    const r = await openai.chat.completions.create({ model: 'gpt-4o', tools: chatTools, messages: user });
    const calls = r.choices[0]?.message.tool_calls ?? [];
    expect(calls.map((c) => (c.type === 'function' ? [c.function.name, JSON.parse(c.function.arguments)] : null)))
      .toEqual(CALLS.map((c) => [c.name, c.arguments]));
    expect(new Set(calls.map((c) => c.id)).size).toBe(3);
    expect(r.choices[0]).toMatchObject({ finish_reason: 'tool_calls', message: { content: null } });
    // each call costs 1 + the words of its JSON arguments: 2 + 2 + 2
    expect(r.usage?.completion_tokens).toBe(6);
  });

  test('streams each call under its own index, arguments in fragments, calls one after another', async () => {
    fake.next({ toolCalls: CALLS });
    const stream = await openai.chat.completions.create({ model: 'gpt-4o', tools: chatTools, messages: user, stream: true });
    const deltas: Array<{ index: number; id?: string; name?: string; args?: string }> = [];
    for await (const c of stream) {
      for (const t of c.choices[0]?.delta.tool_calls ?? []) {
        deltas.push({ index: t.index, id: t.id, name: t.function?.name, args: t.function?.arguments });
      }
    }
    // indexes never go back: call n is whole before call n+1 starts
    expect(deltas.map((d) => d.index)).toEqual([...deltas.map((d) => d.index)].sort());
    expect(deltas.filter((d) => d.id).map((d) => [d.index, d.name, d.args])).toEqual([[0, 'get_weather', ''], [1, 'get_weather', ''], [2, 'get_time', '']]);
    expect(deltas.filter((d) => d.index === 0 && !d.id).length).toBeGreaterThan(1);
    const joined = [0, 1, 2].map((i) => JSON.parse(deltas.filter((d) => d.index === i).map((d) => d.args ?? '').join('')));
    expect(joined).toEqual(CALLS.map((c) => c.arguments));
  });

  test('the SDK accumulates the streamed calls into the final message', async () => {
    fake.next({ text: 'Let me check.', toolCalls: CALLS });
    const done = await openai.chat.completions.stream({ model: 'gpt-4o', tools: chatTools, messages: user }).finalChatCompletion();
    expect(done.choices[0]?.message.content).toBe('Let me check.');
    expect(done.choices[0]?.message.tool_calls?.map((c) => (c.type === 'function' ? c.function.name : ''))).toEqual(['get_weather', 'get_weather', 'get_time']);
  });

  test('parallel_tool_calls: false answers only the first call', async () => {
    fake.next({ toolCalls: CALLS });
    const r = await openai.chat.completions.create({ model: 'gpt-4o', tools: chatTools, messages: user, parallel_tool_calls: false });
    expect(r.choices[0]?.message.tool_calls?.map((c) => (c.type === 'function' ? c.function.arguments : ''))).toEqual([JSON.stringify(CALLS[0]?.arguments)]);
  });

  test('toolCalls replaces toolCall; an empty list answers text', async () => {
    fake.setDefault({ toolCall: { name: 'get_time', arguments: {} } });
    fake.next({ toolCalls: [] });
    const r = await openai.chat.completions.create({ model: 'gpt-4o', tools: chatTools, messages: user });
    expect(r.choices[0]).toMatchObject({ finish_reason: 'stop', message: { content: 'Hello from fake gpt-4o' } });
  });
});

describe('OpenAI responses', () => {
  test('answers one function_call output item per call', async () => {
    fake.next({ toolCalls: CALLS });
    const r = await openai.responses.create({ model: 'gpt-4.1', input: 'weather?', tools: [{ type: 'function', name: 'get_weather', parameters: {}, strict: false }] });
    expect(r.output.map((o) => (o.type === 'function_call' ? [o.name, JSON.parse(o.arguments)] : o.type)))
      .toEqual(CALLS.map((c) => [c.name, c.arguments]));
    expect(new Set(r.output.map((o) => (o.type === 'function_call' ? o.call_id : ''))).size).toBe(3);
  });

  test('streams each item under its own output_index with its arguments delta/done events', async () => {
    fake.next({ text: 'Checking.', toolCalls: CALLS.slice(0, 2) });
    const stream = openai.responses.stream({ model: 'gpt-4.1', input: 'weather?', tools: [{ type: 'function', name: 'get_weather', parameters: {}, strict: false }] });
    const events: OpenAI.Responses.ResponseStreamEvent[] = [];
    for await (const e of stream) events.push(e);
    const final = await stream.finalResponse();
    expect(final.output.map((o) => o.type)).toEqual(['message', 'function_call', 'function_call']);
    expect(events.map((e) => e.sequence_number)).toEqual(events.map((_, i) => i));
    for (const [output_index, c] of CALLS.slice(0, 2).entries()) {
      const at = output_index + 1;
      const item = final.output[at];
      const deltas = events.filter((e) => e.type === 'response.function_call_arguments.delta' && e.output_index === at);
      expect(deltas.length).toBeGreaterThan(1);
      expect(deltas.every((e) => 'item_id' in e && e.item_id === item?.id)).toBe(true);
      expect(events.find((e) => e.type === 'response.function_call_arguments.done' && e.output_index === at))
        .toMatchObject({ name: c.name, arguments: JSON.stringify(c.arguments), item_id: item?.id });
    }
    // item n is done before item n+1 is added
    const order = events.filter((e) => e.type === 'response.output_item.added' || e.type === 'response.output_item.done')
      .map((e) => `${e.type.slice('response.output_item.'.length)}${'output_index' in e ? e.output_index : ''}`);
    expect(order).toEqual(['added0', 'done0', 'added1', 'done1', 'added2', 'done2']);
  });
});

describe('Anthropic messages', () => {
  const tools = ['get_weather', 'get_time'].map((name) => ({ name, input_schema: { type: 'object' as const, properties: {} } }));

  test('answers one tool_use block per call', async () => {
    fake.next({ toolCalls: CALLS });
    const m = await anthropic.messages.create({ model: 'claude-sonnet-4-5', max_tokens: 100, tools, messages: user });
    expect(m.stop_reason).toBe('tool_use');
    expect(m.content.map((b) => (b.type === 'tool_use' ? [b.name, b.input] : b.type))).toEqual(CALLS.map((c) => [c.name, c.arguments]));
  });

  test('tool_choice.disable_parallel_tool_use answers at most one tool_use', async () => {
    fake.next({ toolCalls: CALLS });
    const m = await anthropic.messages.create({
      model: 'claude-sonnet-4-5', max_tokens: 100, tools, tool_choice: { type: 'auto', disable_parallel_tool_use: true }, messages: user,
    });
    expect(m.content).toEqual([expect.objectContaining({ type: 'tool_use', name: 'get_weather', input: CALLS[0]?.arguments })]);
  });

  test('streams each block whole: start, input_json_delta fragments, stop', async () => {
    fake.next({ text: 'Checking.', toolCalls: CALLS });
    const stream = anthropic.messages.stream({ model: 'claude-sonnet-4-5', max_tokens: 100, tools, messages: user });
    const seen: string[] = [];
    stream.on('streamEvent', (e) => {
      if (e.type === 'content_block_start') seen.push(`start${e.index}:${e.content_block.type}`);
      if (e.type === 'content_block_stop') seen.push(`stop${e.index}`);
    });
    const final = await stream.finalMessage();
    expect(seen).toEqual(['start0:text', 'stop0', 'start1:tool_use', 'stop1', 'start2:tool_use', 'stop2', 'start3:tool_use', 'stop3']);
    expect(final.content.slice(1).map((b) => (b.type === 'tool_use' ? b.input : null))).toEqual(CALLS.map((c) => c.arguments));
  });

  test('a tool_use without its tool_result in the next turn is Anthropic\'s 400; results together in one turn are accepted', async () => {
    const history = [
      ...user,
      { role: 'assistant' as const, content: [{ type: 'tool_use' as const, id: 'toolu_a', name: 'get_weather', input: {} }, { type: 'tool_use' as const, id: 'toolu_b', name: 'get_time', input: {} }] },
    ];
    const err = await anthropic.messages.create({
      model: 'claude-sonnet-4-5', max_tokens: 10, tools,
      messages: [...history, { role: 'user', content: [{ type: 'tool_result', tool_use_id: 'toolu_a', content: '21' }] }],
    }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(Anthropic.BadRequestError);
    expect(String(err)).toContain('without `tool_result` blocks immediately after: toolu_b');
    const ok = await anthropic.messages.create({
      model: 'claude-sonnet-4-5', max_tokens: 10, tools,
      messages: [...history, { role: 'user', content: ['toolu_a', 'toolu_b'].map((id) => ({ type: 'tool_result' as const, tool_use_id: id, content: 'x' })) }],
    });
    expect(ok.stop_reason).toBe('end_turn');
  });
});

describe('Gemini', () => {
  const post = (path: string, body: unknown): Promise<Response> =>
    fetch(`${fake.url}${path}`, { method: 'POST', headers: { 'content-type': 'application/json', 'x-goog-api-key': 'g' }, body: JSON.stringify(body) });
  const ask = { contents: [{ role: 'user', parts: [{ text: 'weather?' }] }], tools: [{ functionDeclarations: [{ name: 'get_weather' }, { name: 'get_time' }] }] };
  const calls = CALLS.map((c) => ({ functionCall: { name: c.name, args: c.arguments } }));

  test('answers several functionCall parts in one content', async () => {
    fake.next({ toolCalls: CALLS });
    const body = (await (await post('/v1beta/models/gemini-2.5-flash:generateContent', ask)).json()) as Record<string, unknown>;
    expect(body).toMatchObject({ candidates: [{ content: { role: 'model', parts: calls }, finishReason: 'STOP' }] });
  });

  test('streams the calls together, complete, in the last response after the text', async () => {
    fake.next({ text: 'a b', toolCalls: CALLS });
    const text = await (await post('/v1beta/models/gemini-2.5-flash:streamGenerateContent?alt=sse', ask)).text();
    const chunks = text.split('\r\n\r\n').filter(Boolean).map((f) => JSON.parse(f.slice('data: '.length)) as { candidates: Array<{ content: { parts: unknown[] }; finishReason?: string }> });
    expect(chunks.map((c) => c.candidates[0]?.content.parts)).toEqual([[{ text: 'a ' }], [{ text: 'b' }], calls]);
    expect(chunks.at(-1)?.candidates[0]?.finishReason).toBe('STOP');
  });

  test('a function-call turn answered with fewer functionResponse parts is Gemini\'s 400', async () => {
    const history = [...ask.contents, { role: 'model', parts: calls.slice(0, 2) }];
    const one = { functionResponse: { name: 'get_weather', response: { t: 21 } } };
    const bad = await post('/v1beta/models/gemini-2.5-flash:generateContent', { ...ask, contents: [...history, { role: 'user', parts: [one] }] });
    expect(bad.status).toBe(400);
    expect(await bad.json()).toMatchObject({ error: { code: 400, status: 'INVALID_ARGUMENT', message: expect.stringContaining('number of function response parts') } });
    const ok = await post('/v1beta/models/gemini-2.5-flash:generateContent', { ...ask, contents: [...history, { role: 'user', parts: [one, one] }] });
    expect(ok.status).toBe(200);
  });
});

describe('parseScenario', () => {
  test('takes toolCalls and reasoningSummary, and rejects malformed ones', () => {
    const s = { toolCalls: CALLS, reasoningSummary: ['a', 'b'] };
    expect(parseScenario(JSON.stringify(s))).toEqual(s);
    expect(parseScenario('{"reasoningSummary":"x"}')).toEqual({ reasoningSummary: 'x' });
    expect(() => parseScenario('{"toolCalls":[{"name":"f"}]}')).toThrow('toolCalls must be');
    expect(() => parseScenario('{"toolCalls":{"name":"f","arguments":{}}}')).toThrow('toolCalls must be');
    expect(() => parseScenario('{"reasoningSummary":[1]}')).toThrow('reasoningSummary must be');
  });
});
