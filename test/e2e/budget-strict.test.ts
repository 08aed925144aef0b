import Anthropic from '@anthropic-ai/sdk';
import OpenAI from 'openai';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { startStack, type Stack } from './harness.ts';

const KEY = 'wl_strict_budget_key_0123456789';
const ROOMY = 'wl_strict_budget_roomy_012345678';
const CLAUDE = 'wl_strict_budget_claude_01234567';
const USAGE = 'wl_strict_budget_usage_012345678';
const CJK = 'wl_strict_budget_cjk_0123456789a';
let s: Stack;

beforeAll(async () => {
  s = await startStack({
    yaml: [
      'budgets:',
      '  strict: true',
      '  default_max_tokens: 20',
      'keys:',
      '  - name: capped',
      '    project: acme',
      `    key: ${KEY}`,
      // gpt-4o-mini output: $0.60 per 1M tokens. The ~20-token reservation fits; ~40 tokens in all do.
      '    budget: { usd: 0.00003, period: month }',
      '  - name: roomy',
      '    project: acme',
      `    key: ${ROOMY}`,
      '    budget: { usd: 10, period: month }',
      // claude-haiku-4-5 output: $5 per 1M tokens: max_tokens 150 reserves $0.00075 of $0.001.
      '  - name: usage',
      '    project: acme',
      `    key: ${USAGE}`,
      '    budget: { usd: 0.00003, period: month }',
      '  - name: cjk',
      '    project: acme',
      `    key: ${CJK}`,
      '    budget: { usd: 0.00003, period: month }',
      '  - name: claude',
      '    project: acme',
      `    key: ${CLAUDE}`,
      '    budget: { usd: 0.001, period: month }',
    ].join('\n'),
    env: { WATCHLLM_OPENAI_API_KEY: 'sk-held', WATCHLLM_ANTHROPIC_API_KEY: 'sk-ant-held' },
  });
});
afterAll(() => s.close());

const LONG = Array.from({ length: 200 }, (_, i) => `word${i}`).join(' ');

/** Streams `text` from the fake to the openai SDK with `key` (no max_tokens: 20 output tokens reserved). */
async function streamWith(key: string, text: string, chunks: number) {
  s.fake.next({ text, chunks });
  const client = new OpenAI({ baseURL: `${s.url}/v1`, apiKey: key, maxRetries: 0 });
  const stream = await client.chat.completions.create({ model: 'gpt-4o-mini', stream: true, messages: [{ role: 'user', content: 'talk' }] });
  let got = '';
  let finish: string | null = null;
  const ids = new Set<string>();
  for await (const chunk of stream) {
    got += chunk.choices[0]?.delta.content ?? '';
    finish = chunk.choices[0]?.finish_reason ?? finish;
    ids.add(`${chunk.id} ${chunk.created} ${chunk.model}`);
  }
  return { text: got, finish, ids };
}

describe('strict budgets on streams', () => {
  test('a stream that would cross its budget is ended cleanly with finish_reason length', async () => {
    const { text, finish, ids } = await streamWith(KEY, LONG, 50);
    expect(finish).toBe('length');
    // the closing chunk the gateway adds is one of the provider's: same id, created and model
    expect(ids.size).toBe(1);
    expect(text.length).toBeGreaterThan(0);
    expect(text.length).toBeLessThan(LONG.length);
    const x = (await s.waitForEvents(1))[0]!;
    expect(x).toMatchObject({ outcome: 'denied_limit', error: { type: 'budget_exceeded' }, response: { finishReason: 'length' } });
  });

  test('text of many tokens per character (CJK) is watched as it is counted: the recorded cost stays within the budget', async () => {
    s.events.length = 0;
    const { finish } = await streamWith(CJK, '日本語のテキストです。'.repeat(40), 80);
    expect(finish).toBe('length');
    const x = (await s.waitForEvents(1))[0]!;
    expect(x.outcome).toBe('denied_limit');
    expect(x.costUsd).toBeGreaterThan(0);
    expect(x.costUsd!).toBeLessThanOrEqual(0.00003 + 1e-12);
  });

  test('a client that asked for usage gets it after the cut: the usage the call is recorded with', async () => {
    s.events.length = 0;
    s.fake.next({ text: LONG, chunks: 50 });
    const client = new OpenAI({ baseURL: `${s.url}/v1`, apiKey: USAGE, maxRetries: 0 });
    const stream = await client.chat.completions.create({
      model: 'gpt-4o-mini',
      stream: true,
      stream_options: { include_usage: true },
      messages: [{ role: 'user', content: 'talk' }],
    });
    let text = '';
    let usage: OpenAI.CompletionUsage | null | undefined;
    let finish: string | null = null;
    for await (const chunk of stream) {
      text += chunk.choices[0]?.delta.content ?? '';
      finish = chunk.choices[0]?.finish_reason ?? finish;
      if (chunk.usage) usage = chunk.usage;
    }
    expect(finish).toBe('length');
    const x = (await s.waitForEvents(1))[0]!;
    expect(x.outcome).toBe('denied_limit');
    expect(x.response.usageSource).toBe('estimate');
    expect(x.response.usage!.completionTokens).toBeGreaterThan(0);
    expect(usage).toMatchObject({
      prompt_tokens: x.response.usage!.promptTokens,
      completion_tokens: x.response.usage!.completionTokens,
      total_tokens: x.response.usage!.promptTokens + x.response.usage!.completionTokens,
    });
    // what was streamed, not what the provider would have sent
    expect(x.response.usage!.completionTokens).toBeLessThan(LONG.split(' ').length);
    expect(text.length).toBeLessThan(LONG.length);
  });

  test("an Anthropic stream cut by its budget reports the output streamed, not message_start's first token", async () => {
    s.events.length = 0;
    s.fake.next({ text: LONG, chunks: 50 });
    const client = new Anthropic({ baseURL: s.url, apiKey: CLAUDE, maxRetries: 0 });
    const stream = client.messages.stream({ model: 'claude-haiku-4-5', max_tokens: 150, messages: [{ role: 'user', content: 'talk' }] });
    const message = await stream.finalMessage();
    expect(message.stop_reason).toBe('max_tokens');
    const text = message.content.map((b) => (b.type === 'text' ? b.text : '')).join('');
    expect(text.length).toBeGreaterThan(0);
    expect(text.length).toBeLessThan(LONG.length);
    const x = (await s.waitForEvents(1))[0]!;
    expect(x.outcome).toBe('denied_limit');
    expect(x.response.usageSource).toBe('estimate');
    // the input count is the provider's (message_start); the output, the text that was streamed
    expect(x.response.usage!.completionTokens).toBeGreaterThan(5);
    expect(message.usage.output_tokens).toBe(x.response.usage!.completionTokens);
    expect(message.usage.input_tokens).toBe(x.response.usage!.promptTokens);
  });

  test('a stream longer than it reserved runs to its end while the budget has room', async () => {
    // ~350 output tokens streamed against 20 reserved; $10 leaves plenty of room.
    const { text, finish } = await streamWith(ROOMY, LONG, 50);
    expect(text).toBe(LONG);
    expect(finish).toBe('stop');
  });

  test('a stream that fits its reservation is untouched', async () => {
    expect((await streamWith(ROOMY, 'short answer', 2)).text).toBe('short answer');
  });
});
