/**
 * Parallel tool calls and the exact cache (in-process store): an answer with several tool calls
 * is replayed with every call, in order, whether it was cached from a stream or from JSON and
 * whether the hit is asked streamed or not.
 */
import OpenAI from 'openai';
import type { ChatCompletionChunk, ChatCompletionCreateParamsNonStreaming } from 'openai/resources/chat/completions';
import { afterAll, beforeAll, beforeEach, describe, expect, test } from 'vitest';
import type { ToolCallSpec } from '../fake-provider/index.ts';
import { startStack, type Stack } from './harness.ts';

let s: Stack;
let client: OpenAI;

beforeAll(async () => {
  s = await startStack();
  client = new OpenAI({ baseURL: `${s.url}/v1`, apiKey: 'sk-test-key', maxRetries: 0 });
});
afterAll(() => s.close());
beforeEach(() => {
  s.fake.reset();
  s.events.length = 0;
});

const ON = { headers: { 'x-watchllm-cache': 'on' } };
const CALLS: ToolCallSpec[] = [
  { name: 'get_weather', arguments: { city: 'Paris' } },
  { name: 'get_weather', arguments: { city: 'Oslo', unit: 'celsius' } },
  { name: 'get_time', arguments: {} },
];
const expected = CALLS.map((c) => ({ name: c.name, arguments: c.arguments }));
const tools: OpenAI.ChatCompletionTool[] = ['get_weather', 'get_time'].map((name) => ({
  type: 'function', function: { name, parameters: { type: 'object', properties: {} } },
}));

let n = 0;
function fresh(model: string): ChatCompletionCreateParamsNonStreaming {
  n += 1;
  return { model, tools, messages: [{ role: 'user', content: `weather in Paris and Oslo, and the time? (${n})` }] };
}

async function plain(body: ChatCompletionCreateParamsNonStreaming): Promise<{ calls: unknown[]; cache: string | null; finish: string | undefined }> {
  const { data, response } = await client.chat.completions.create(body, ON).withResponse();
  const calls = (data.choices[0]?.message.tool_calls ?? []).map((c) => (c.type === 'function' ? { name: c.function.name, arguments: JSON.parse(c.function.arguments) } : null));
  return { calls, cache: response.headers.get('x-watchllm-cache'), finish: data.choices[0]?.finish_reason };
}

async function streamed(body: ChatCompletionCreateParamsNonStreaming): Promise<{ calls: unknown[]; cache: string | null; chunks: ChatCompletionChunk[] }> {
  const { data, response } = await client.chat.completions.create({ ...body, stream: true }, ON).withResponse();
  const chunks: ChatCompletionChunk[] = [];
  for await (const c of data) chunks.push(c);
  const byIndex: Array<{ name: string; args: string }> = [];
  for (const t of chunks.flatMap((c) => c.choices[0]?.delta.tool_calls ?? [])) {
    const slot = (byIndex[t.index] ??= { name: '', args: '' });
    slot.name += t.function?.name ?? '';
    slot.args += t.function?.arguments ?? '';
  }
  return { calls: byIndex.map((c) => ({ name: c.name, arguments: JSON.parse(c.args) })), cache: response.headers.get('x-watchllm-cache'), chunks };
}

describe.each(['gpt-4o-mini', 'claude-sonnet-4-5', 'gemini-2.5-flash'])('an answer of %s with three tool calls', (model) => {
  test('cached from a stream, replayed streamed and not', async () => {
    s.fake.setDefault({ toolCalls: CALLS });
    const body = fresh(model);
    const first = await streamed(body);
    const again = await streamed(body);
    const json = await plain(body);
    expect([first.cache, again.cache, json.cache]).toEqual(['miss', 'hit', 'hit']);
    expect(first.calls).toEqual(expected);
    expect(again.calls).toEqual(expected);
    expect(again.chunks).toEqual(first.chunks);
    expect(json).toMatchObject({ calls: expected, finish: 'tool_calls' });
    expect(s.fake.calls).toHaveLength(1);
  });

  test('cached from JSON, replayed streamed and not', async () => {
    s.fake.setDefault({ toolCalls: CALLS });
    const body = fresh(model);
    const first = await plain(body);
    const again = await plain(body);
    const stream = await streamed(body);
    expect([first.cache, again.cache, stream.cache]).toEqual(['miss', 'hit', 'hit']);
    expect(first.calls).toEqual(expected);
    expect(again.calls).toEqual(expected);
    expect(stream.calls).toEqual(expected);
    expect(stream.chunks.at(-1)?.choices[0]?.finish_reason ?? stream.chunks.at(-2)?.choices[0]?.finish_reason).toBe('tool_calls');
    expect(s.fake.calls).toHaveLength(1);
  });
});
