import Anthropic from '@anthropic-ai/sdk';
import OpenAI from 'openai';
import { afterAll, beforeAll, beforeEach, describe, expect, test } from 'vitest';
import { FAKE_THINKING, thinkingSignature } from '../fake-provider/anthropic.ts';
import { startStack, type Stack } from './harness.ts';

let s: Stack;
let openai: OpenAI;
let anthropic: Anthropic;

beforeAll(async () => {
  s = await startStack();
  openai = new OpenAI({ baseURL: `${s.url}/v1`, apiKey: 'sk-ant-test-key', maxRetries: 0 });
  anthropic = new Anthropic({ baseURL: s.url, apiKey: 'sk-ant-test-key', maxRetries: 0 });
});
afterAll(() => s.close());
beforeEach(() => {
  s.fake.reset();
  s.events.length = 0;
});

const weatherTool = {
  type: 'function' as const,
  function: {
    name: 'get_weather',
    description: 'Weather for a city',
    parameters: { type: 'object', properties: { city: { type: 'string' } }, required: ['city'] },
  },
};

describe('the official @anthropic-ai/sdk, with only baseURL changed (native pass-through)', () => {
  test('messages.create', async () => {
    const msg = await anthropic.messages.create({
      model: 'claude-sonnet-4-5',
      max_tokens: 100,
      messages: [{ role: 'user', content: 'hello there' }],
    });
    expect(msg.type).toBe('message');
    expect(msg.content[0]).toMatchObject({ type: 'text', text: 'Hello from fake claude-sonnet-4-5' });
    expect(s.fake.calls[0]?.headers['x-api-key']).toBe('sk-ant-test-key');
    expect(s.fake.calls[0]?.headers['anthropic-version']).toBeTruthy();
    const x = (await s.waitForEvents(1))[0]!;
    expect(x).toMatchObject({ surface: 'anthropic', endpoint: 'messages', outcome: 'success' });
    expect(x.response.usage).toMatchObject({ promptTokens: 2, completionTokens: 4 });
    expect(x.response.finishReason).toBe('end_turn');
  });

  test('messages.stream with a tool call', async () => {
    s.fake.next({ toolCall: { name: 'get_weather', arguments: { city: 'Paris' } } });
    const stream = anthropic.messages.stream({
      model: 'claude-sonnet-4-5',
      max_tokens: 100,
      tools: [{ name: 'get_weather', description: 'Weather', input_schema: { type: 'object', properties: { city: { type: 'string' } } } }],
      messages: [{ role: 'user', content: 'weather in Paris?' }],
    });
    const final = await stream.finalMessage();
    const tool = final.content.find((b) => b.type === 'tool_use');
    expect(tool).toMatchObject({ type: 'tool_use', name: 'get_weather', input: { city: 'Paris' } });
    expect(final.stop_reason).toBe('tool_use');
    const x = (await s.waitForEvents(1))[0]!;
    expect(x.response).toMatchObject({ usageSource: 'provider', finishReason: 'tool_use' });
    expect(x.response.usage?.promptTokens).toBe(3);
  });

  test('messages.countTokens and models.list reach Anthropic, and counting tokens is not billed', async () => {
    const count = await anthropic.messages.countTokens({ model: 'claude-sonnet-4-5', messages: [{ role: 'user', content: 'three words here' }] });
    expect(count.input_tokens).toBe(3);
    expect(s.fake.calls[0]).toMatchObject({ method: 'POST', path: '/v1/messages/count_tokens' });
    const models = await anthropic.models.list();
    expect(models.data.map((m) => m.id)).toContain('claude-sonnet-4-5');
    expect(s.fake.calls[1]).toMatchObject({ method: 'GET', path: '/v1/models' });
    expect(s.fake.calls[1]?.headers['x-api-key']).toBe('sk-ant-test-key');
    const [counted, listed] = await s.waitForEvents(2);
    expect(counted).toMatchObject({ endpoint: 'count_tokens', outcome: 'success', route: { provider: 'anthropic' }, response: { usage: null }, costUsd: null });
    expect(listed).toMatchObject({ surface: 'anthropic', endpoint: 'models', route: { provider: 'anthropic' } });
  });

  test('Anthropic errors come back in Anthropic shape', async () => {
    s.fake.next({ status: 429, errorMessage: 'slow down' });
    await expect(
      anthropic.messages.create({ model: 'claude-sonnet-4-5', max_tokens: 10, messages: [{ role: 'user', content: 'x' }] }),
    ).rejects.toMatchObject({ status: 429, error: { type: 'error', error: { type: 'rate_limit_error' } } });
  });

  test('a bad body on the Anthropic surface gets an Anthropic-shaped 400', async () => {
    const r = await fetch(`${s.url}/v1/messages`, {
      method: 'POST',
      headers: { 'x-api-key': 'sk-ant-test-key', 'content-type': 'application/json' },
      body: '{"model":"claude-sonnet-4-5"',
    });
    expect(r.status).toBe(400);
    expect(await r.json()).toMatchObject({ type: 'error', error: { type: 'invalid_request_error', message: expect.stringContaining('JSON') } });
    expect(s.fake.calls).toHaveLength(0);
  });
});

describe('the openai SDK calling a claude-* model: translated both ways', () => {
  test('plain chat', async () => {
    const r = await openai.chat.completions.create({
      model: 'claude-sonnet-4-5',
      messages: [
        { role: 'system', content: 'be brief' },
        { role: 'user', content: 'hello there' },
      ],
    });
    expect(r.choices[0]?.message).toMatchObject({ role: 'assistant', content: 'Hello from fake claude-sonnet-4-5' });
    expect(r.choices[0]?.finish_reason).toBe('stop');
    expect(r.model).toBe('claude-sonnet-4-5');
    const sent = s.fake.calls[0]!;
    expect(sent.path).toBe('/v1/messages');
    expect(sent.body).toMatchObject({ model: 'claude-sonnet-4-5', system: 'be brief', messages: [{ role: 'user', content: 'hello there' }] });
    expect(sent.headers['x-api-key']).toBe('sk-ant-test-key');
  });

  test('a tool call comes back as OpenAI tool_calls, and the tool result goes back as tool_result', async () => {
    s.fake.next({ toolCall: { name: 'get_weather', arguments: { city: 'Paris' } } });
    const first = await openai.chat.completions.create({
      model: 'claude-sonnet-4-5',
      tools: [weatherTool],
      messages: [{ role: 'user', content: 'weather in Paris?' }],
    });
    const call = first.choices[0]?.message.tool_calls?.[0];
    expect(first.choices[0]?.finish_reason).toBe('tool_calls');
    expect(call).toMatchObject({ type: 'function', function: { name: 'get_weather' } });
    expect(JSON.parse(call!.type === 'function' ? call!.function.arguments : '{}')).toEqual({ city: 'Paris' });
    expect(s.fake.calls[0]?.body).toMatchObject({
      tools: [{ name: 'get_weather', input_schema: { type: 'object', required: ['city'] } }],
    });

    await openai.chat.completions.create({
      model: 'claude-sonnet-4-5',
      tools: [weatherTool],
      messages: [
        { role: 'user', content: 'weather in Paris?' },
        first.choices[0]!.message,
        { role: 'tool', tool_call_id: call!.id, content: '{"temp":21}' },
      ],
    });
    const msgs = (s.fake.calls[1]?.body as { messages: unknown[] }).messages;
    expect(msgs[1]).toMatchObject({ role: 'assistant', content: [{ type: 'tool_use', id: call!.id, name: 'get_weather', input: { city: 'Paris' } }] });
    expect(msgs[2]).toMatchObject({ role: 'user', content: [{ type: 'tool_result', tool_use_id: call!.id }] });
  });

  test('OpenAI habits Anthropic refuses are mended: a "\\n" stop, temperature 1.5, an image with an empty caption', async () => {
    const r = await openai.chat.completions.create({
      model: 'claude-sonnet-4-5',
      stop: ['\n', 'END'],
      temperature: 1.5,
      messages: [{ role: 'user', content: [{ type: 'text', text: '' }, { type: 'image_url', image_url: { url: 'https://example.com/cat.png' } }] }],
    });
    expect(r.choices[0]?.message.content).toBe('Hello from fake claude-sonnet-4-5');
    expect(s.fake.calls[0]?.body).toMatchObject({ stop_sequences: ['END'], temperature: 1, messages: [{ role: 'user', content: [{ type: 'image' }] }] });
  });

  test('thinking with a temperature other than 1 is refused with a 400 naming temperature, before Anthropic is called', async () => {
    const err = await openai.chat.completions
      .create({ model: 'claude-sonnet-4-5', reasoning_effort: 'low', temperature: 0.2, messages: [{ role: 'user', content: 'hi' }] })
      .then(() => null, (e: unknown) => e);
    expect(err).toBeInstanceOf(OpenAI.BadRequestError);
    expect((err as InstanceType<typeof OpenAI.BadRequestError>).error).toMatchObject({ param: 'temperature', type: 'invalid_request_error' });
    expect(s.fake.calls).toHaveLength(0);
  });

  test('a streamed call of a tool without parameters reaches the openai SDK with "{}" as its arguments', async () => {
    s.fake.next({ toolCall: { name: 'get_time', arguments: {} } });
    const stream = openai.chat.completions.stream({
      model: 'claude-sonnet-4-5',
      tools: [{ type: 'function', function: { name: 'get_time', description: 'The current time', parameters: { type: 'object', properties: {} } } }],
      messages: [{ role: 'user', content: 'what time is it?' }],
    });
    const done = await stream.finalChatCompletion();
    const call = done.choices[0]?.message.tool_calls?.[0];
    expect(call).toMatchObject({ type: 'function', function: { name: 'get_time', arguments: '{}' } });
    expect(done.choices[0]?.finish_reason).toBe('tool_calls');
  });

  test('with thinking on, an answer appended whole to the history carries its signed thinking back to Anthropic', async () => {
    // reasoning_effort turns Anthropic's extended thinking on; with tool use, Anthropic then refuses a
    // history whose assistant turn lost its (signed) thinking. The fake enforces that rule.
    s.fake.next({ toolCall: { name: 'get_weather', arguments: { city: 'Paris' } } });
    const ask = { model: 'claude-sonnet-4-5', reasoning_effort: 'low' as const, tools: [weatherTool] };
    const first = await openai.chat.completions.create({ ...ask, messages: [{ role: 'user', content: 'weather in Paris?' }] });
    const message = first.choices[0]!.message as OpenAI.ChatCompletionMessage & { reasoning_content?: string; thinking_blocks?: unknown[] };
    expect(message.reasoning_content).toBe(FAKE_THINKING);
    expect(message.thinking_blocks).toEqual([{ type: 'thinking', thinking: FAKE_THINKING, signature: thinkingSignature(FAKE_THINKING) }]);
    const call = message.tool_calls![0]!;
    const result = { role: 'tool' as const, tool_call_id: call.id, content: '{"temp":21}' };

    const second = await openai.chat.completions.create({ ...ask, messages: [{ role: 'user', content: 'weather in Paris?' }, message, result] });
    expect(second.choices[0]?.finish_reason).toBe('stop');
    const msgs = (s.fake.calls[1]?.body as { messages: Array<{ content: unknown[] }> }).messages;
    expect(msgs[1]?.content.map((b) => (b as { type: string }).type)).toEqual(['thinking', 'tool_use']);

    // The same history without its thinking, which Anthropic would refuse with thinking on: sent
    // without thinking, and the response says so (langchain-thinking-tools.test.ts has the rest).
    const { thinking_blocks: _dropped, ...bare } = message;
    const third = await openai.chat.completions
      .create({ ...ask, messages: [{ role: 'user', content: 'weather in Paris?' }, bare, result] })
      .withResponse();
    expect(third.data.choices[0]?.finish_reason).toBe('stop');
    expect(third.response.headers.get('x-watchllm-thinking')).toBe('dropped');
    expect(s.fake.calls[2]?.body).not.toHaveProperty('thinking');
  });

  test('with thinking on, a stream ends each thinking block with a chunk carrying it whole, signature included', async () => {
    s.fake.next({ toolCall: { name: 'get_weather', arguments: { city: 'Paris' } } });
    const stream = await openai.chat.completions.create({
      model: 'claude-sonnet-4-5',
      stream: true,
      reasoning_effort: 'low',
      tools: [weatherTool],
      messages: [{ role: 'user', content: 'weather in Paris?' }],
    });
    let reasoning = '';
    const blocks: unknown[] = [];
    for await (const chunk of stream) {
      const d = chunk.choices[0]?.delta as { reasoning_content?: string; thinking_blocks?: unknown[] } | undefined;
      reasoning += d?.reasoning_content ?? '';
      blocks.push(...(d?.thinking_blocks ?? []));
    }
    expect(reasoning).toBe(FAKE_THINKING);
    expect(blocks).toEqual([{ type: 'thinking', thinking: FAKE_THINKING, signature: thinkingSignature(FAKE_THINKING) }]);
  });

  test('a streamed tool call arrives as OpenAI tool_call deltas that reassemble to the arguments', async () => {
    s.fake.next({ toolCall: { name: 'get_weather', arguments: { city: 'Paris', unit: 'celsius' } } });
    const stream = await openai.chat.completions.create({
      model: 'claude-sonnet-4-5',
      stream: true,
      tools: [weatherTool],
      messages: [{ role: 'user', content: 'weather in Paris?' }],
    });
    let args = '';
    let name = '';
    let finish: string | null = null;
    let sawUsage = false;
    for await (const chunk of stream) {
      if (chunk.usage) sawUsage = true;
      const d = chunk.choices[0]?.delta;
      for (const t of d?.tool_calls ?? []) {
        expect(t.index).toBe(0);
        if (t.function?.name) name = t.function.name;
        args += t.function?.arguments ?? '';
      }
      finish = chunk.choices[0]?.finish_reason ?? finish;
    }
    expect(name).toBe('get_weather');
    expect(JSON.parse(args)).toEqual({ city: 'Paris', unit: 'celsius' });
    expect(finish).toBe('tool_calls');
    expect(sawUsage).toBe(false);
    const x = (await s.waitForEvents(1))[0]!;
    expect(x.response).toMatchObject({ usageSource: 'provider', finishReason: 'tool_calls' });
  });

  test('streamed text with include_usage gets a final usage chunk', async () => {
    s.fake.next({ text: 'a b c d e', chunks: 5 });
    const stream = await openai.chat.completions.create({
      model: 'claude-sonnet-4-5',
      stream: true,
      stream_options: { include_usage: true },
      messages: [{ role: 'user', content: 'five letters' }],
    });
    let text = '';
    let usage: OpenAI.CompletionUsage | null | undefined;
    for await (const chunk of stream) {
      text += chunk.choices[0]?.delta.content ?? '';
      if (chunk.usage) usage = chunk.usage;
    }
    expect(text).toBe('a b c d e');
    expect(usage).toMatchObject({ prompt_tokens: 2, completion_tokens: 5, total_tokens: 7 });
  });

  test('an Anthropic error is translated into the OpenAI error shape', async () => {
    s.fake.next({ status: 400, errorMessage: 'bad things' });
    await expect(
      openai.chat.completions.create({ model: 'claude-sonnet-4-5', messages: [{ role: 'user', content: 'x' }] }),
    ).rejects.toMatchObject({ status: 400, error: { type: 'invalid_request_error', message: 'bad things' } });
  });
});
