/**
 * How the exact cache, rate limits and budgets meet, through the real gateway (in-process stores):
 * a cache hit costs nothing, so no spent or too-small budget refuses it, while it still counts as a
 * request; a call that could never fit its limit is told so, without a retry hint; users of two BYOK
 * tenants never share a limit; the provider headers a client forwards are part of the cache key.
 */
import Anthropic from '@anthropic-ai/sdk';
import OpenAI from 'openai';
import { afterAll, beforeAll, beforeEach, describe, expect, test } from 'vitest';
import { startStack, type Stack } from './harness.ts';

const HELD = 'sk-held-by-the-gateway';
const FREE = 'wl_cache_limits_free_0123456789';
const TIGHT = 'wl_cache_limits_tight_0123456789';
const COUNTED = 'wl_cache_limits_counted_012345678';
const TPM = 'wl_cache_limits_tpm_0123456789ab';
const YAML = `
keys:
  - { name: free, project: acme, key: ${FREE} }
  - { name: tight, project: acme, key: ${TIGHT}, budget: { usd: 0.000001, period: day } }
  - { name: counted, project: acme, key: ${COUNTED}, limits: { rpm: 2 } }
  - { name: tpm, project: other, key: ${TPM}, limits: { tpm: 300 } }
limits:
  user: { rpm: 1 }
  models:
    "claude-sonnet*": { rpm: 4 }
    "*-sonnet-4-5": { rpm: 100 }
`;
const ON = { headers: { 'x-watchllm-cache': 'on' } };

let s: Stack;
beforeAll(async () => {
  s = await startStack({ yaml: YAML, env: { WATCHLLM_OPENAI_API_KEY: HELD, WATCHLLM_ANTHROPIC_API_KEY: HELD } });
});
afterAll(() => s.close());
beforeEach(() => {
  s.fake.reset();
  s.events.length = 0;
});

const as = (key: string) => new OpenAI({ baseURL: `${s.url}/v1`, apiKey: key, maxRetries: 0 });
let n = 0;
const fresh = () => ({ model: 'gpt-4o-mini', max_tokens: 20, messages: [{ role: 'user' as const, content: `cache vs limits ${++n}` }] });
const failure = (p: Promise<unknown>) =>
  p.then(
    () => {
      throw new Error('expected the call to fail');
    },
    (e: unknown) => e as InstanceType<typeof OpenAI.APIError>,
  );

describe('cache hits and limits', () => {
  test('a key whose budget no call fits is refused (402, no retry hint), yet served a cached answer of its project', async () => {
    const body = fresh();
    const filled = await as(FREE).chat.completions.create(body, ON).withResponse();
    expect(filled.response.headers.get('x-watchllm-cache')).toBe('miss');

    const refused = await failure(as(TIGHT).chat.completions.create(fresh(), ON));
    expect(refused.status).toBe(402);
    expect(refused.message).toMatch(/more than the whole budget of key '.+': \$0\.0000010 per day/);
    expect(refused.headers?.get('retry-after')).toBeNull();

    const { data, response } = await as(TIGHT).chat.completions.create(body, ON).withResponse();
    expect(response.headers.get('x-watchllm-cache')).toBe('hit');
    expect(data.choices[0]?.message.content).toBe(filled.data.choices[0]?.message.content);
    expect(s.fake.calls).toHaveLength(1);
  });

  test('a cache hit still counts as a request: rpm 2 admits a miss and a hit, then refuses', async () => {
    const body = fresh();
    const statuses: Array<string | number> = [];
    for (let i = 0; i < 3; i++) {
      const r = await as(COUNTED).chat.completions.create(body, ON).withResponse().then(
        (ok) => ok.response.headers.get('x-watchllm-cache') ?? 'none',
        (e: InstanceType<typeof OpenAI.APIError>) => e.status ?? 0,
      );
      statuses.push(r);
    }
    expect(statuses).toEqual(['miss', 'hit', 429]);
  });

  test('more tokens than the whole tpm limit is "Request too large" (429) without retry-after', async () => {
    const err = await failure(as(TPM).chat.completions.create({ ...fresh(), max_tokens: 500 }));
    expect(err.status).toBe(429);
    expect(err.message).toMatch(/^429 Request too large for key '.+' on tokens per minute: limit 300, requested \d+/);
    expect(err.headers?.get('retry-after')).toBeNull();
    expect(s.fake.calls).toHaveLength(0);
  });

  test('users of two BYOK tenants with the same name have their own limits', async () => {
    const user = { headers: { 'x-watchllm-user': 'alice' } };
    await as('sk-tenant-b').chat.completions.create(fresh(), user);
    await as('sk-tenant-a').chat.completions.create(fresh(), user);
    const again = await failure(as('sk-tenant-a').chat.completions.create(fresh(), user));
    expect(again.status).toBe(429);
    expect(again.message).toMatch(/user 'byok:[0-9a-f]{12}\/alice'/);
  });

  test('two model globs naming the same model count a call once, under the tighter limit', async () => {
    const anthropic = new Anthropic({ baseURL: s.url, apiKey: 'sk-ant-tenant', maxRetries: 0 });
    const ask = () => anthropic.messages.create({ model: 'claude-sonnet-4-5', max_tokens: 16, messages: [{ role: 'user', content: `hi ${++n}` }] });
    for (let i = 0; i < 4; i++) await ask();
    await expect(ask()).rejects.toMatchObject({ status: 429 });
    expect(s.fake.calls).toHaveLength(4);
  });
});

describe('the cache key and forwarded provider headers', () => {
  test('a different anthropic-beta is a different answer: a miss; the same one is a hit', async () => {
    const body = JSON.stringify({ model: 'claude-haiku-4-5', max_tokens: 16, messages: [{ role: 'user', content: `beta ${++n}` }] });
    const call = (beta: string | null) =>
      fetch(`${s.url}/v1/messages`, {
        method: 'POST',
        headers: {
          'x-api-key': 'sk-ant-beta-tenant',
          'anthropic-version': '2023-06-01',
          'content-type': 'application/json',
          'x-watchllm-cache': 'on',
          ...(beta ? { 'anthropic-beta': beta } : {}),
        },
        body,
      }).then((r) => r.headers.get('x-watchllm-cache'));
    expect(await call(null)).toBe('miss');
    expect(await call('interleaved-thinking-2025-05-14')).toBe('miss');
    expect(await call('interleaved-thinking-2025-05-14')).toBe('hit');
    expect(await call(null)).toBe('hit');
    expect(s.fake.calls).toHaveLength(2);
  });
});
