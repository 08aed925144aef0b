/**
 * What a call reserves against token limits and budgets before it runs: nothing for endpoints that
 * generate nothing (count_tokens, models), a fixed allowance for an inline image rather than its
 * base64 text, and a 402 that tells "spent" from "this call's worst case does not fit".
 */
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { startStack, type Stack } from './harness.ts';
import { openaiError, post } from './processes.ts';

const KEY = 'wl_reservations_tenant_0123456789';
let s: Stack;

beforeAll(async () => {
  // Output tokens cost $1000 per 1M (input free): a call reserves max_tokens / 1000 dollars.
  s = await startStack({
    yaml: `
limits:
  key: { rpm: 600, tpm: 200000 }
keys:
  - { name: app, project: acme, key: ${KEY}, budget: { usd: 1, period: day } }
prices:
  openai/gpt-4o-mini: { input: 0, output: 1000 }
  openai/gpt-4o: { input: 0, output: 1000 }
  anthropic/claude-haiku-4-5: { input: 0, output: 1000 }
`,
    env: { WATCHLLM_OPENAI_API_KEY: 'sk-held', WATCHLLM_ANTHROPIC_API_KEY: 'sk-ant-held' },
  });
});
afterAll(() => s?.close());

const auth = { authorization: `Bearer ${KEY}` };
const anthropic = { 'x-api-key': KEY, 'anthropic-version': '2023-06-01' };
const chat = (body: unknown) => post(`${s.url}/v1/chat/completions`, body, auth);

describe('reservations and the 402 of a budget', () => {
  test('with $0.30 left: count_tokens and GET /v1/models/{id} are served (they cost nothing), a call that may cost $0.50 gets a 402 saying what is left', async () => {
    // Spend $0.70 of the $1 budget.
    s.fake.next({ usage: { promptTokens: 5, completionTokens: 700 } });
    expect((await chat({ model: 'gpt-4o-mini', max_tokens: 800, messages: [{ role: 'user', content: 'hi' }] })).status).toBe(200);

    // Without a max_tokens these would reserve budgets.default_max_tokens (4096) x $1000/M = $4.10.
    const counted = await post(`${s.url}/v1/messages/count_tokens`, { model: 'claude-haiku-4-5', messages: [{ role: 'user', content: 'lorem '.repeat(2000) }] }, anthropic);
    expect(counted.status).toBe(200);
    const model = await fetch(`${s.url}/v1/models/gpt-4o-mini`, { headers: auth });
    expect(model.status).toBe(200);
    // They still count as requests.
    expect(Number(model.headers.get('x-ratelimit-remaining-requests'))).toBeLessThan(600);

    const refused = await chat({ model: 'gpt-4o-mini', max_tokens: 500, messages: [{ role: 'user', content: 'hi' }] });
    expect(refused.status).toBe(402);
    const err = openaiError(refused);
    expect(err).toMatchObject({ type: 'insufficient_quota', code: 'budget_exceeded' });
    expect(err.message).not.toContain('exhausted');
    expect(err.message).toContain('$0.3000 left, this call may cost up to $0.5000');
    expect(err.message).toMatch(/Lower max_tokens, or wait until \S+Z, when the budget resets\.$/);

    // One that fits is served.
    s.fake.next({ usage: { promptTokens: 5, completionTokens: 300 } });
    expect((await chat({ model: 'gpt-4o-mini', max_tokens: 300, messages: [{ role: 'user', content: 'hi' }] })).status).toBe(200);
    // Now it is spent.
    const spent = await chat({ model: 'gpt-4o-mini', max_tokens: 1, messages: [{ role: 'user', content: 'hi' }] });
    expect(spent.status).toBe(402);
    expect(openaiError(spent).message).toMatch(/^Budget exhausted for key 'cfg_[0-9a-f]+': \$1\.00 per day, \$1\.0000 used\. It resets at \S+Z\.$/);
  });
});

describe('an inline image against tpm 200000', () => {
  const jpeg = Buffer.alloc(800 * 1024, 7).toString('base64'); // an ~800 KB JPEG: 1.07 MB of base64
  const byok = { authorization: 'Bearer sk-byok-vision' };

  test('an ~800 KB base64 image (OpenAI image_url) is admitted: it counts as one image, not 270,000 tokens', async () => {
    const r = await post(
      `${s.url}/v1/chat/completions`,
      { model: 'gpt-4o', max_tokens: 300, messages: [{ role: 'user', content: [{ type: 'text', text: 'what is in this picture?' }, { type: 'image_url', image_url: { url: `data:image/jpeg;base64,${jpeg}` } }] }] },
      byok,
    );
    expect(r.status).toBe(200);
    expect(Number(r.headers.get('x-ratelimit-remaining-tokens'))).toBeGreaterThan(195_000);
  });

  test('the same as an Anthropic base64 image source', async () => {
    const r = await post(
      `${s.url}/v1/messages`,
      { model: 'claude-haiku-4-5', max_tokens: 300, messages: [{ role: 'user', content: [{ type: 'image', source: { type: 'base64', media_type: 'image/jpeg', data: jpeg } }, { type: 'text', text: 'what is this?' }] }] },
      { 'x-api-key': 'sk-ant-byok-vision', 'anthropic-version': '2023-06-01' },
    );
    expect(r.status).toBe(200);
  });
});
