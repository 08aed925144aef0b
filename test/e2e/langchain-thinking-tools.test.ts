/**
 * Claude with extended thinking through the OpenAI surface, driven the way LangChain's ChatOpenAI
 * drives it (@langchain/openai 1.5): `reasoning_effort` in the body, and on the second turn the
 * assistant message sent back as `{"role":"assistant","content":"","tool_calls":[…]}`, without the
 * `thinking_blocks` the answer carried. Anthropic refuses such a tool-use continuation with thinking
 * on (the fake enforces that rule), so the gateway sends it without thinking and says so in
 * `x-watchllm-thinking: dropped`.
 */
import { afterAll, beforeAll, beforeEach, describe, expect, test } from 'vitest';
import { FAKE_THINKING, thinkingSignature } from '../fake-provider/anthropic.ts';
import { startStack, type Stack } from './harness.ts';

let s: Stack;
beforeAll(async () => {
  s = await startStack();
});
afterAll(() => s.close());
beforeEach(() => {
  s.fake.reset();
  s.events.length = 0;
});

const tool = {
  type: 'function',
  function: {
    name: 'get_weather',
    description: 'Weather for a city',
    parameters: { type: 'object', properties: { city: { type: 'string' } }, required: ['city'] },
  },
};
const question = { role: 'user', content: 'weather in Paris?' };

async function chat(body: Record<string, unknown>): Promise<Response> {
  return fetch(`${s.url}/v1/chat/completions`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', authorization: 'Bearer sk-ant-test-key' },
    body: JSON.stringify({ model: 'claude-sonnet-4-5', reasoning_effort: 'low', tools: [tool], stream: false, ...body }),
  });
}

interface Message {
  role: 'assistant';
  content: string | null;
  reasoning_content?: string;
  thinking_blocks?: unknown[];
  tool_calls: Array<{ id: string; type: 'function'; function: { name: string; arguments: string } }>;
}

/** The first turn: the model thinks and calls the tool. */
async function firstTurn(): Promise<Message> {
  s.fake.next({ toolCall: { name: 'get_weather', arguments: { city: 'Paris' } } });
  const r = await chat({ messages: [question] });
  expect(r.status).toBe(200);
  const message = ((await r.json()) as { choices: Array<{ message: Message }> }).choices[0]!.message;
  expect(message.thinking_blocks).toEqual([{ type: 'thinking', thinking: FAKE_THINKING, signature: thinkingSignature(FAKE_THINKING) }]);
  return message;
}

/** The assistant turn as LangChain's ChatOpenAI sends it back: its text and tool calls only. */
function asLangChainSendsIt(m: Message): Record<string, unknown> {
  return { role: 'assistant', content: '', tool_calls: m.tool_calls.map((c) => ({ id: c.id, type: 'function', function: c.function })) };
}

const toolResult = (m: Message) => ({ role: 'tool', content: '{"temp":21}', tool_call_id: m.tool_calls[0]!.id });

/** The `thinking` and the block types of each message of the n-th request the fake received. */
function upstream(n: number): { thinking: unknown; turns: string[][] } {
  const body = s.fake.calls[n]!.body as { thinking?: unknown; messages: Array<{ content: string | Array<{ type: string }> }> };
  return { thinking: body.thinking, turns: body.messages.map((m) => (typeof m.content === 'string' ? ['string'] : m.content.map((b) => b.type))) };
}

describe('a tool-use loop with thinking whose client does not echo thinking_blocks (LangChain ChatOpenAI)', () => {
  test('the second turn is answered: sent without thinking, and the response says so', async () => {
    const first = await firstTurn();
    const r = await chat({ messages: [question, asLangChainSendsIt(first), toolResult(first)] });
    expect(r.status).toBe(200);
    expect(r.headers.get('x-watchllm-thinking')).toBe('dropped');
    const answer = (await r.json()) as { choices: Array<{ message: Message; finish_reason: string }> };
    expect(answer.choices[0]).toMatchObject({ finish_reason: 'stop', message: { role: 'assistant', content: 'Hello from fake claude-sonnet-4-5' } });
    // without thinking, the answer carries none
    expect(answer.choices[0]!.message).not.toHaveProperty('thinking_blocks');
    expect(upstream(1)).toEqual({ thinking: undefined, turns: [['string'], ['tool_use'], ['tool_result']] });
    const [, x] = await s.waitForEvents(2);
    expect(x).toMatchObject({ outcome: 'success', response: { status: 200 } });
  });

  test('streamed, the second turn is answered too, with the header on the stream', async () => {
    const first = await firstTurn();
    const r = await chat({ stream: true, messages: [question, asLangChainSendsIt(first), toolResult(first)] });
    expect(r.status).toBe(200);
    expect(r.headers.get('x-watchllm-thinking')).toBe('dropped');
    const text = await r.text();
    expect(text).toContain('"finish_reason":"stop"');
    expect(text.trimEnd().endsWith('data: [DONE]')).toBe(true);
    expect(upstream(1).thinking).toBeUndefined();
  });

  test('a new question after such a loop keeps thinking on: only a running loop needs its thinking back', async () => {
    const first = await firstTurn();
    const history = [question, asLangChainSendsIt(first), toolResult(first), { role: 'assistant', content: 'It is 21 degrees.' }];
    const r = await chat({ messages: [...history, { role: 'user', content: 'and in Rome?' }] });
    expect(r.status).toBe(200);
    expect(r.headers.get('x-watchllm-thinking')).toBeNull();
    expect(upstream(1).thinking).toEqual({ type: 'enabled', budget_tokens: 2048 });
  });

  test('a client that echoes thinking_blocks keeps thinking on, and gets no header', async () => {
    const first = await firstTurn();
    const r = await chat({ messages: [question, first, toolResult(first)] });
    expect(r.status).toBe(200);
    expect(r.headers.get('x-watchllm-thinking')).toBeNull();
    expect(upstream(1)).toEqual({ thinking: { type: 'enabled', budget_tokens: 2048 }, turns: [['string'], ['thinking', 'tool_use'], ['tool_result']] });
  });
});

describe('the thinking-dropped header belongs to the attempt that answered', () => {
  const KEY = 'wl_thinking_fallback_0123456789abcdef';
  let g: Stack;
  beforeAll(async () => {
    g = await startStack({
      env: { WATCHLLM_OPENAI_API_KEY: 'sk-held-openai', WATCHLLM_ANTHROPIC_API_KEY: 'sk-ant-held' },
      yaml: `keys:\n  - { name: app, project: acme, key: ${KEY} }\n`,
    });
  });
  afterAll(() => g.close());

  test('a call Claude failed, answered by a fallback to gpt-4o, does not say its thinking was dropped', async () => {
    const call = { id: 'call_1', type: 'function', function: { name: 'get_weather', arguments: '{"city":"Paris"}' } };
    g.fake.next({ status: 500 });
    const r = await fetch(`${g.url}/v1/chat/completions`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', authorization: `Bearer ${KEY}`, 'x-watchllm-fallbacks': 'gpt-4o', 'x-watchllm-retries': '0' },
      body: JSON.stringify({
        model: 'claude-sonnet-4-5',
        reasoning_effort: 'low',
        tools: [tool],
        messages: [question, { role: 'assistant', content: '', tool_calls: [call] }, { role: 'tool', content: '{"temp":21}', tool_call_id: 'call_1' }],
      }),
    });
    expect(r.status).toBe(200);
    expect(((await r.json()) as { model: string }).model).toContain('gpt-4o');
    expect(r.headers.get('x-watchllm-thinking')).toBeNull();
    // Claude was asked without thinking, then gpt-4o answered
    expect(g.fake.calls.map((c) => c.path)).toEqual(['/v1/messages', '/v1/chat/completions']);
  });
});
