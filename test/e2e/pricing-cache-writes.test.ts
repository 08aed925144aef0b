/**
 * Anthropic prompt-cache writes are priced by the cache's lifetime: 5-minute writes at 1.25x the
 * input price, 1-hour writes (`cache_control: {ttl: "1h"}`) at 2x. Anthropic's usage tells them
 * apart (`cache_creation.ephemeral_1h_input_tokens`); the cost header, the event's cost and budgets
 * must follow, on the native surface and through the OpenAI translation alike, streamed or not.
 */
import Anthropic from '@anthropic-ai/sdk';
import OpenAI from 'openai';
import { afterAll, beforeAll, beforeEach, describe, expect, test } from 'vitest';
import { startStack, type Stack } from './harness.ts';

const BUDGET_KEY = 'wl_pricing_1h_budget_0123456789';
let s: Stack;

beforeAll(async () => {
  s = await startStack({
    yaml: ['keys:', '  - name: cache-heavy', '    project: acme', `    key: ${BUDGET_KEY}`, '    budget: { usd: 1, period: month }'].join('\n'),
    env: { WATCHLLM_ANTHROPIC_API_KEY: 'sk-ant-held' },
  });
});
afterAll(() => s.close());
beforeEach(() => {
  s.fake.reset();
  s.events.length = 0;
});

// claude-sonnet-4-5: input $3, output $15, 5-minute write $3.75, 1-hour write $6 per 1M tokens.
const MODEL = 'claude-sonnet-4-5';
const PROMPT = 'hello there'; // 2 prompt tokens at the fake
const ANSWER = 'four words of answer'; // 4 output tokens
const ONE_HOUR = { usage: { cacheWriteTokens: 100_000, cacheWrite1hTokens: 100_000 }, text: ANSWER };
/** 100k 1-hour writes at $6/M, the prompt's 2 tokens at $3/M and 4 output tokens at $15/M. */
const ONE_HOUR_USD = (100_000 * 6 + 2 * 3 + 4 * 15) / 1e6;

const post = (path: string, body: unknown, headers: Record<string, string> = {}) =>
  fetch(`${s.url}${path}`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', 'x-api-key': 'sk-ant-test', authorization: 'Bearer sk-ant-test', ...headers },
    body: JSON.stringify(body),
  });

describe('1-hour cache writes cost 2x input, not the 5-minute 1.25x', () => {
  test('native /v1/messages: the cost header and the event', async () => {
    s.fake.next(ONE_HOUR);
    const r = await post('/v1/messages', { model: MODEL, max_tokens: 100, messages: [{ role: 'user', content: PROMPT }] });
    expect(r.status).toBe(200);
    const body = (await r.json()) as { usage: Record<string, unknown> };
    expect(body.usage).toMatchObject({ cache_creation_input_tokens: 100_000, cache_creation: { ephemeral_1h_input_tokens: 100_000 } });
    expect(Number(r.headers.get('x-watchllm-cost-usd'))).toBeCloseTo(ONE_HOUR_USD, 10);
    const x = (await s.waitForEvents(1))[0]!;
    expect(x.response.usage).toMatchObject({ promptTokens: 100_002, cacheWriteTokens: 100_000, cacheWrite1hTokens: 100_000 });
    expect(x.costUsd).toBeCloseTo(ONE_HOUR_USD, 10);
  });

  test('native stream (the Anthropic SDK)', async () => {
    s.fake.next(ONE_HOUR);
    const anthropic = new Anthropic({ baseURL: s.url, apiKey: 'sk-ant-test', maxRetries: 0 });
    const final = await anthropic.messages.stream({ model: MODEL, max_tokens: 100, messages: [{ role: 'user', content: PROMPT }] }).finalMessage();
    expect(final.usage.cache_creation?.ephemeral_1h_input_tokens).toBe(100_000);
    const x = (await s.waitForEvents(1))[0]!;
    expect(x.response.usageSource).toBe('provider');
    expect(x.costUsd).toBeCloseTo(ONE_HOUR_USD, 10);
  });

  test('OpenAI surface: the translated usage keeps the split, and the cost follows it', async () => {
    s.fake.next(ONE_HOUR);
    const r = await post('/v1/chat/completions', { model: MODEL, messages: [{ role: 'user', content: PROMPT }] });
    expect(r.status).toBe(200);
    const body = (await r.json()) as { usage: Record<string, unknown> };
    expect(body.usage).toMatchObject({
      prompt_tokens: 100_002,
      cache_creation_input_tokens: 100_000,
      cache_creation: { ephemeral_5m_input_tokens: 0, ephemeral_1h_input_tokens: 100_000 },
    });
    expect(Number(r.headers.get('x-watchllm-cost-usd'))).toBeCloseTo(ONE_HOUR_USD, 10);
    expect((await s.waitForEvents(1))[0]!.costUsd).toBeCloseTo(ONE_HOUR_USD, 10);
  });

  test.each([
    ['asking for usage', true],
    ['without asking for usage', false],
  ] as const)('OpenAI surface stream, %s', async (_name, includeUsage) => {
    s.fake.next(ONE_HOUR);
    const openai = new OpenAI({ baseURL: `${s.url}/v1`, apiKey: 'sk-ant-test', maxRetries: 0 });
    const stream = await openai.chat.completions.create({
      model: MODEL,
      stream: true,
      ...(includeUsage && { stream_options: { include_usage: true } }),
      messages: [{ role: 'user', content: PROMPT }],
    });
    let usage: unknown;
    for await (const chunk of stream) if (chunk.usage) usage = chunk.usage;
    if (includeUsage) expect(usage).toMatchObject({ cache_creation: { ephemeral_1h_input_tokens: 100_000 } });
    else expect(usage).toBeUndefined();
    const x = (await s.waitForEvents(1))[0]!;
    expect(x.response.usageSource).toBe('provider');
    expect(x.costUsd).toBeCloseTo(ONE_HOUR_USD, 10);
  });

  test('5-minute writes keep their 1.25x price', async () => {
    s.fake.next({ usage: { cacheWriteTokens: 100_000 }, text: ANSWER });
    const r = await post('/v1/messages', { model: MODEL, max_tokens: 100, messages: [{ role: 'user', content: PROMPT }] });
    expect(Number(r.headers.get('x-watchllm-cost-usd'))).toBeCloseTo((100_000 * 3.75 + 2 * 3 + 4 * 15) / 1e6, 10);
  });

  test('a budget is charged the 1-hour price: two such calls spend a $1 budget', async () => {
    const call = () =>
      post('/v1/messages', { model: MODEL, max_tokens: 100, messages: [{ role: 'user', content: PROMPT }] }, {
        'x-api-key': BUDGET_KEY,
        authorization: `Bearer ${BUDGET_KEY}`,
      });
    for (let i = 0; i < 2; i++) {
      s.fake.next(ONE_HOUR);
      expect((await call()).status).toBe(200);
    }
    // $1.20 spent (at the 5-minute price it would be $0.75, leaving room for a third call)
    const third = await call();
    expect(third.status).toBe(402);
    expect(((await third.json()) as { error: { message: string } }).error.message).toContain('$1.2001 used');
    expect(s.fake.calls).toHaveLength(2);
  });
});
