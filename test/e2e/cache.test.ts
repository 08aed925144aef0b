/**
 * The exact cache through the real gateway and the official openai SDK, with the in-process store,
 * a real redis-server and a real Redis Cluster: what a client sees on a hit, what the provider sees,
 * the request headers that steer it, tenant scope, and what is never cached.
 */
import OpenAI from 'openai';
import type { ChatCompletionChunk, ChatCompletionCreateParamsNonStreaming } from 'openai/resources/chat/completions';
import { afterAll, beforeAll, beforeEach, describe, expect, test } from 'vitest';
import { startRedis, startRedisCluster, type TestRedis, type TestRedisCluster } from '../redis/index.ts';
import { last, startStack, type Stack } from './harness.ts';
import { post } from './processes.ts';

const HELD = 'sk-held-by-the-gateway';
const ACME = 'wl_cache_tenant_acme_0123456789';
const OTHER = 'wl_cache_tenant_other_0123456789';
const YAML = `
keys:
  - { name: acme, project: acme, key: ${ACME} }
  - { name: other, project: other, key: ${OTHER} }
`;
const ON = { headers: { 'x-watchllm-cache': 'on' } };
const WEATHER_TOOL = {
  type: 'function',
  function: { name: 'get_weather', parameters: { type: 'object', properties: { city: { type: 'string' } } } },
} as const;

let redis: TestRedis;
let cluster: TestRedisCluster;
beforeAll(async () => {
  [redis, cluster] = await Promise.all([startRedis(), startRedisCluster()]);
});
afterAll(() => Promise.all([redis?.stop(), cluster?.stop()]));

let n = 0;
/** A request no other test sends, so entries never leak between tests. */
function fresh(extra: Partial<ChatCompletionCreateParamsNonStreaming> = {}): ChatCompletionCreateParamsNonStreaming {
  n += 1;
  return { model: 'gpt-4o-mini', messages: [{ role: 'user', content: `What is the weather? (${n})` }], ...extra };
}

describe.each(['memory', 'redis', 'redis cluster'] as const)('exact cache with the %s store', (backend) => {
  let s: Stack;
  let client: OpenAI;
  const byok = (key: string) => new OpenAI({ baseURL: `${s.url}/v1`, apiKey: key, maxRetries: 0 });

  beforeAll(async () => {
    const store: Record<string, string> = {
      memory: {},
      redis: { WATCHLLM_REDIS_URL: redis.url },
      'redis cluster': { WATCHLLM_REDIS_URL: cluster.url, WATCHLLM_REDIS_CLUSTER: 'true' },
    }[backend];
    s = await startStack({ yaml: YAML, env: { WATCHLLM_OPENAI_API_KEY: HELD, ...store } });
    client = byok('sk-tenant-one');
  });
  afterAll(() => s?.close());
  beforeEach(() => {
    s.fake.reset();
    s.events.length = 0;
  });

  async function streamed(c: OpenAI, body: ChatCompletionCreateParamsNonStreaming, headers: Record<string, string> = ON.headers) {
    const { data, response } = await c.chat.completions.create({ ...body, stream: true }, { headers }).withResponse();
    const chunks: ChatCompletionChunk[] = [];
    for await (const chunk of data) chunks.push(chunk);
    const text = chunks.map((ch) => ch.choices[0]?.delta.content ?? '').join('');
    return { chunks, text, cache: response.headers.get('x-watchllm-cache') };
  }
  async function plain(c: OpenAI, body: ChatCompletionCreateParamsNonStreaming, headers: Record<string, string> = ON.headers) {
    const { data, response } = await c.chat.completions.create(body, { headers }).withResponse();
    return { data, text: data.choices[0]?.message.content ?? null, cache: response.headers.get('x-watchllm-cache') };
  }

  test('a streamed answer with text and a tool call is replayed chunk for chunk, and the provider is called once', async () => {
    s.fake.setDefault({ text: 'Let me look that up', toolCall: { name: 'get_weather', arguments: { city: 'Paris', unit: 'celsius' } } });
    const body = fresh({ tools: [WEATHER_TOOL] });
    const first = await streamed(client, body);
    const second = await streamed(client, body);

    expect([first.cache, second.cache]).toEqual(['miss', 'hit']);
    expect(s.fake.calls).toHaveLength(1);
    expect(first.text).toBe('Let me look that up');
    const args = first.chunks.flatMap((ch) => ch.choices[0]?.delta.tool_calls ?? []).map((t) => t.function?.arguments ?? '').join('');
    expect(JSON.parse(args)).toEqual({ city: 'Paris', unit: 'celsius' });
    expect(second.chunks).toEqual(first.chunks);

    const [, hit] = await s.waitForEvents(2);
    expect(hit).toMatchObject({ outcome: 'cache_hit', costUsd: 0, response: { status: 200 } });
    expect(hit!.cache).toMatchObject({ status: 'hit', savedUsd: expect.any(Number) });
    expect(hit!.cache!.savedUsd).toBeGreaterThan(0);
    expect(hit!.response.usage).toEqual(s.events[0]!.response.usage);
    // the hit is recorded with the answer's finish reason, as the original was
    expect(s.events[0]!.response.finishReason).toBe('tool_calls');
    expect(hit!.response.finishReason).toBe('tool_calls');
    // the hit keeps the answer's text as its body, as the streamed original did (not the SSE bytes)
    expect(s.events[0]!.response.body).toContain('Let me look that up');
    expect(hit!.response.body).toBe(s.events[0]!.response.body);
  });

  test('a non-streamed request is served from a cached stream, with the same text, tool call and usage', async () => {
    s.fake.setDefault({ text: 'Checking', toolCall: { name: 'get_weather', arguments: { city: 'Oslo' } } });
    const body = fresh({ tools: [WEATHER_TOOL] });
    // The same question asked without the cache: what a non-streamed answer looks like.
    const original = await plain(byok('sk-reference'), body, {});
    const first = await streamed(client, body);
    const fromCache = await plain(client, body);

    expect([first.cache, fromCache.cache]).toEqual(['miss', 'hit']);
    expect(s.fake.calls).toHaveLength(2);
    expect(fromCache.text).toBe(original.text);
    // Tool call ids are minted per provider call; everything else must match.
    const calls = (r: typeof original) => r.data.choices[0]?.message.tool_calls?.map(({ id: _id, ...call }) => call);
    expect(calls(fromCache)).toEqual(calls(original));
    expect(calls(fromCache)).toEqual([{ type: 'function', function: { name: 'get_weather', arguments: '{"city":"Oslo"}' } }]);
    expect(fromCache.data.choices[0]?.finish_reason).toBe('tool_calls');
    expect(fromCache.data.usage).toMatchObject({ prompt_tokens: original.data.usage?.prompt_tokens, completion_tokens: original.data.usage?.completion_tokens });
  });

  test('a streamed request is served from a cached JSON answer as a proper SSE stream', async () => {
    s.fake.setDefault({ text: 'Sunny and mild in Lisbon today' });
    const body = fresh();
    const first = await plain(client, body);
    const fromCache = await streamed(client, body);

    expect([first.cache, fromCache.cache]).toEqual(['miss', 'hit']);
    expect(s.fake.calls).toHaveLength(1);
    expect(fromCache.text).toBe('Sunny and mild in Lisbon today');
    expect(fromCache.chunks.at(-1)?.choices[0]?.finish_reason).toBe('stop');
    expect(fromCache.chunks.every((ch) => ch.object === 'chat.completion.chunk' && ch.id === first.data.id)).toBe(true);
  });

  test('off bypasses the cache, refresh overwrites the entry, on then reads the fresh one', async () => {
    const body = fresh();
    s.fake.next({ text: 'first answer' });
    s.fake.next({ text: 'uncached answer' });
    s.fake.next({ text: 'refreshed answer' });
    const steps = [
      await plain(client, body), // miss: stores "first answer"
      await plain(client, body, { 'x-watchllm-cache': 'off' }), // bypass: provider, nothing stored
      await plain(client, body), // hit: "first answer"
      await plain(client, body, { 'x-watchllm-cache': 'refresh' }), // provider, stores "refreshed answer"
      await plain(client, body), // hit: "refreshed answer"
    ];
    expect(steps.map((r) => [r.cache, r.text])).toEqual([
      ['miss', 'first answer'],
      ['bypass', 'uncached answer'],
      ['hit', 'first answer'],
      ['miss', 'refreshed answer'],
      ['hit', 'refreshed answer'],
    ]);
    expect(s.fake.calls).toHaveLength(3);
  });

  test('Anthropic messages: streamed and non-streamed calls keep an entry each, so mixed traffic hits both', async () => {
    n += 1;
    const body = { model: 'claude-sonnet-4-5', max_tokens: 50, messages: [{ role: 'user', content: `Hello (${n})` }] };
    const headers = { 'x-api-key': 'sk-ant-tenant', 'anthropic-version': '2023-06-01', 'x-watchllm-cache': 'on' };
    const seen = [];
    for (const stream of [true, false, true, false]) {
      const r = await post(`${s.url}/v1/messages`, { ...body, stream }, headers);
      expect(r.status).toBe(200);
      seen.push(r.headers.get('x-watchllm-cache'));
    }
    expect(seen).toEqual(['miss', 'miss', 'hit', 'hit']);
    expect(s.fake.calls).toHaveLength(2);
  });

  test('a sampled request (temperature > 0) is not cached and says bypass', async () => {
    const body = fresh({ temperature: 0.9 });
    const replies = [await plain(client, body), await plain(client, body)];
    expect(replies.map((r) => r.cache)).toEqual(['bypass', 'bypass']);
    expect(s.fake.calls).toHaveLength(2);
  });

  test('another BYOK key or another project never reads the entry', async () => {
    const body = fresh();
    const tenants = [client, byok('sk-tenant-two'), byok(ACME), byok(OTHER)];
    const first = [];
    for (const c of tenants) first.push((await plain(c, body)).cache);
    const again = [];
    for (const c of tenants) again.push((await plain(c, body)).cache);
    expect(first).toEqual(['miss', 'miss', 'miss', 'miss']);
    expect(again).toEqual(['hit', 'hit', 'hit', 'hit']);
    expect(s.fake.calls).toHaveLength(4);
  });

  test.each([
    ['an upstream 500', { status: 500, errorMessage: 'upstream broke' }, false],
    ['an upstream 429', { status: 429, errorMessage: 'slow down' }, false],
    ['a stream cut before its end', { dropAfterChunks: 1 }, true],
    ['an in-stream error event', { midStreamError: { afterChunks: 1 } }, true],
  ] as const)('%s is never cached: the next identical call reaches the provider', async (_title, failure, stream) => {
    const body = { ...fresh(), stream };
    s.fake.next(failure);
    const failed = await post(`${s.url}/v1/chat/completions`, body, { authorization: 'Bearer sk-tenant-one', 'x-watchllm-cache': 'on' });
    if (!stream) expect(failed.status).toBe(failure.status);
    const retried = await post(`${s.url}/v1/chat/completions`, body, { authorization: 'Bearer sk-tenant-one', 'x-watchllm-cache': 'on' });
    expect(retried.status).toBe(200);
    expect(retried.headers.get('x-watchllm-cache')).toBe('miss');
    expect(s.fake.calls).toHaveLength(2);
    await s.waitForEvents(2);
    expect(last(s).outcome).toBe('success');
  });
});

describe('exact cache and post-response policies', () => {
  // Alice's answers are masked, Bob's are not: they must never share a cached answer.
  const POLICY_YAML = `policies:
  - name: mask-mail-for-alice
    match: { user: [alice] }
    detect: [email]
    action: redact
    stage: post
  - name: flag-mail-for-carol
    match: { user: [carol] }
    detect: [email]
    action: flag
    stage: post
`;
  let s: Stack;
  beforeAll(async () => {
    s = await startStack({ yaml: POLICY_YAML });
  });
  afterAll(() => s?.close());

  test('an answer cached for a call without a redact policy is never served to a call with one, streamed or not', async () => {
    s.fake.setDefault({ text: 'Write to jane.doe@example.com today.' });
    const c = new OpenAI({ baseURL: `${s.url}/v1`, apiKey: 'sk-tenant-one', maxRetries: 0 });
    const ask = async (user: string, stream: boolean) => {
      const headers = { 'x-watchllm-cache': 'on', 'x-watchllm-user': user };
      if (!stream) {
        const { data, response } = await c.chat.completions.create(fresh0, { headers }).withResponse();
        return { text: data.choices[0]?.message.content, cache: response.headers.get('x-watchllm-cache') };
      }
      const { data, response } = await c.chat.completions.create({ ...fresh0, stream: true }, { headers }).withResponse();
      let text = '';
      for await (const chunk of data) text += chunk.choices[0]?.delta.content ?? '';
      return { text, cache: response.headers.get('x-watchllm-cache') };
    };
    const fresh0 = fresh();
    expect(await ask('bob', false)).toEqual({ text: 'Write to jane.doe@example.com today.', cache: 'miss' });
    expect(await ask('alice', true)).toEqual({ text: 'Write to [EMAIL_1] today.', cache: 'miss' });
    expect(await ask('alice', false)).toEqual({ text: 'Write to [EMAIL_1] today.', cache: 'hit' });
    expect(await ask('bob', true)).toEqual({ text: 'Write to jane.doe@example.com today.', cache: 'hit' });
    expect(s.fake.calls).toHaveLength(2);
  });

  test('a hit is checked by the answer policies that only watch (flag): what they find is recorded, as for the miss', async () => {
    s.fake.setDefault({ text: 'Mail carol@example.com back.' });
    const c = new OpenAI({ baseURL: `${s.url}/v1`, apiKey: 'sk-tenant-two', maxRetries: 0 });
    const body = fresh();
    const headers = { 'x-watchllm-cache': 'on', 'x-watchllm-user': 'carol' };
    const before = s.events.length;
    await c.chat.completions.create(body, { headers });
    const streamed = await c.chat.completions.create({ ...body, stream: true }, { headers }).withResponse();
    for await (const _ of streamed.data) void _;
    await c.chat.completions.create(body, { headers });
    const [miss, streamHit, jsonHit] = (await s.waitForEvents(before + 3)).slice(before);
    expect([miss!.outcome, streamHit!.outcome, jsonHit!.outcome]).toEqual(['success', 'cache_hit', 'cache_hit']);
    for (const x of [miss!, streamHit!, jsonHit!]) {
      expect(x.policies?.outcome).toBe('flagged');
      expect(x.policies?.matches).toEqual([expect.objectContaining({ policy: 'flag-mail-for-carol', detector: 'email' })]);
    }
  });
});
