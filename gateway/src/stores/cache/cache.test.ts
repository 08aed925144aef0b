import { afterAll, beforeAll, beforeEach, describe, expect, test } from 'vitest';
import { T0, redisFixture, type RedisFixture } from '../testing.ts';
import { createMemoryCacheStore } from './memory.ts';
import { createRedisCacheStore } from './redis.ts';
import type { CachedResponse, CacheStore } from './types.ts';

let redis: RedisFixture;
beforeAll(async () => {
  redis = await redisFixture();
});
afterAll(() => redis.close());

const usage = { promptTokens: 9, completionTokens: 3, cachedTokens: 0, cacheWriteTokens: 0, reasoningTokens: 0 };
const json: CachedResponse = {
  status: 200,
  headers: { 'content-type': 'application/json' },
  body: JSON.stringify({ id: 'chatcmpl-1', choices: [{ message: { role: 'assistant', content: 'Hello ✓' } }] }),
  usage,
  model: 'gpt-4o-mini-2024-07-18',
  createdAt: T0,
};
const sse: CachedResponse = {
  status: 200,
  headers: { 'content-type': 'text/event-stream' },
  events: ['{"choices":[{"delta":{"role":"assistant"}}]}', '{"choices":[{"delta":{"content":"Hel"}}]}', '{"choices":[{"delta":{"content":"lo\\n\\n"}}]}'],
  usage: null,
  model: 'gpt-4o-mini',
  createdAt: T0,
};

const targets = [
  { name: 'memory', make: (): CacheStore => createMemoryCacheStore() },
  { name: 'redis', make: (): CacheStore => createRedisCacheStore(redis.replicaA), other: (): CacheStore => createRedisCacheStore(redis.replicaB) },
] as const;

describe.each(targets)('CacheStore ($name)', (target) => {
  let store: CacheStore;
  beforeEach(async () => {
    if (target.name === 'redis') await redis.replicaA.flushall();
    store = target.make();
  });

  test.each([
    ['a JSON answer', json],
    ['a stream\'s SSE events', sse],
  ] as const)('returns %s exactly as stored', async (_, value) => {
    await store.set('k1', value, 60);
    expect(await store.get('k1')).toEqual(value);
  });

  test('an unknown key is a miss', async () => {
    expect(await store.get('nope')).toBeNull();
  });

  test('set overwrites (x-watchllm-cache: refresh)', async () => {
    await store.set('k1', json, 60);
    await store.set('k1', sse, 60);
    expect(await store.get('k1')).toEqual(sse);
  });

  test('an entry is gone after its TTL', async () => {
    await store.set('short', json, 0.05);
    await store.set('long', sse, 60);
    await new Promise((r) => setTimeout(r, 120));
    expect(await store.get('short')).toBeNull();
    expect(await store.get('long')).toEqual(sse);
  });

  test('a TTL of 0 stores nothing and removes what was there', async () => {
    await store.set('k1', json, 60);
    await store.set('k1', json, 0);
    expect(await store.get('k1')).toBeNull();
  });

  test.each([1e16, 1e300, Infinity])('a TTL of %s seconds stores the entry (beyond what Redis PX takes: clamped, not a failed write)', async (ttl) => {
    await store.set('long', json, ttl);
    expect(await store.get('long')).toEqual(json);
  });

  if ('other' in target) {
    test('every replica reads what one replica stored', async () => {
      await store.set('shared', sse, 60);
      expect(await target.other().get('shared')).toEqual(sse);
    });

    test('a corrupt entry reads as a miss', async () => {
      await redis.replicaA.set('wl:cache:bad', '{"status":"x"}');
      expect(await store.get('bad')).toBeNull();
    });
  }
});

describe('memory cache bounds', () => {
  test('expires by the injected clock, without sleeping', async () => {
    let now = T0;
    const store = createMemoryCacheStore({ now: () => now });
    await store.set('k', json, 10);
    now += 9_999;
    expect(await store.get('k')).toEqual(json);
    now += 1;
    expect(await store.get('k')).toBeNull();
  });

  test('evicts the least recently used entry past maxEntries', async () => {
    const store = createMemoryCacheStore({ maxEntries: 2 });
    await store.set('a', json, 60);
    await store.set('b', json, 60);
    await store.get('a');
    await store.set('c', json, 60);
    expect([await store.get('a'), await store.get('b'), await store.get('c')]).toEqual([json, null, json]);
  });

  test('evicts past maxBytes and never keeps an entry larger than the bound', async () => {
    const big = { ...json, body: 'x'.repeat(4000) };
    const store = createMemoryCacheStore({ maxBytes: 20_000 });
    await store.set('a', big, 60);
    await store.set('b', big, 60);
    await store.set('c', big, 60);
    expect([await store.get('a'), await store.get('b'), await store.get('c')]).toEqual([null, big, big]);
    await store.set('huge', { ...json, body: 'x'.repeat(20_000) }, 60);
    expect(await store.get('huge')).toBeNull();
  });
});
