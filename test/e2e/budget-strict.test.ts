import OpenAI from 'openai';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { startStack, type Stack } from './harness.ts';

const KEY = 'wl_strict_budget_key_0123456789';
const ROOMY = 'wl_strict_budget_roomy_012345678';
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
    ].join('\n'),
    env: { WATCHLLM_OPENAI_API_KEY: 'sk-held' },
  });
});
afterAll(() => s.close());

describe('strict budgets on streams', () => {
  test('a stream that would cross its budget is ended cleanly with finish_reason length', async () => {
    const long = Array.from({ length: 200 }, (_, i) => `word${i}`).join(' ');
    s.fake.next({ text: long, chunks: 50 });
    const client = new OpenAI({ baseURL: `${s.url}/v1`, apiKey: KEY, maxRetries: 0 });
    // No max_tokens: the reservation assumes budgets.default_max_tokens (20) output tokens.
    const stream = await client.chat.completions.create({ model: 'gpt-4o-mini', stream: true, messages: [{ role: 'user', content: 'talk' }] });
    let text = '';
    let finish: string | null = null;
    const ids = new Set<string>();
    for await (const chunk of stream) {
      text += chunk.choices[0]?.delta.content ?? '';
      finish = chunk.choices[0]?.finish_reason ?? finish;
      ids.add(`${chunk.id} ${chunk.created} ${chunk.model}`);
    }
    expect(finish).toBe('length');
    // the closing chunk the gateway adds is one of the provider's: same id, created and model
    expect(ids.size).toBe(1);
    expect(text.length).toBeGreaterThan(0);
    expect(text.length).toBeLessThan(long.length);
    const x = (await s.waitForEvents(1))[0]!;
    expect(x).toMatchObject({ outcome: 'denied_limit', error: { type: 'budget_exceeded' }, response: { finishReason: 'length' } });
  });

  test('a stream longer than it reserved runs to its end while the budget has room', async () => {
    const long = Array.from({ length: 200 }, (_, i) => `word${i}`).join(' ');
    s.fake.next({ text: long, chunks: 50 });
    const client = new OpenAI({ baseURL: `${s.url}/v1`, apiKey: ROOMY, maxRetries: 0 });
    // No max_tokens: 20 output tokens reserved, ~350 streamed; $10 leaves plenty of room.
    const stream = await client.chat.completions.create({ model: 'gpt-4o-mini', stream: true, messages: [{ role: 'user', content: 'talk' }] });
    let text = '';
    let finish: string | null = null;
    for await (const chunk of stream) {
      text += chunk.choices[0]?.delta.content ?? '';
      finish = chunk.choices[0]?.finish_reason ?? finish;
    }
    expect(text).toBe(long);
    expect(finish).toBe('stop');
  });

  test('a stream that fits its reservation is untouched', async () => {
    s.fake.next({ text: 'short answer', chunks: 2 });
    const client = new OpenAI({ baseURL: `${s.url}/v1`, apiKey: ROOMY, maxRetries: 0 });
    const stream = await client.chat.completions.create({ model: 'gpt-4o-mini', stream: true, messages: [{ role: 'user', content: 'talk' }] });
    let text = '';
    for await (const chunk of stream) text += chunk.choices[0]?.delta.content ?? '';
    expect(text).toBe('short answer');
  });
});
