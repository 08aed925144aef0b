import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { createStores, rateLimitHeaders, StoreUnavailableError } from './index.ts';
import { T0, redisFixture, type RedisFixture } from './testing.ts';

let redis: RedisFixture;
beforeAll(async () => {
  redis = await redisFixture();
});
afterAll(() => redis.close());

const rpm = { scope: 'key', id: 'k', kind: 'requests', window: 'minute', limit: 2, cost: 1 } as const;

describe('createStores', () => {
  test('without WATCHLLM_REDIS_URL it runs in process', async () => {
    const stores = await createStores({ secret: 's' });
    expect(stores.backend).toBe('memory');
    const r = await stores.limits.check({ now: T0, items: [rpm] });
    expect(rateLimitHeaders(r)['x-ratelimit-remaining-requests']).toBe('1');
    await stores.close();
  });

  test('two processes sharing one Redis count together', async () => {
    // CI runs many suites at once on two cores: a 100 ms stall there is load, not an outage
    const opts = { redisUrl: redis.server.url, failMode: 'closed', commandTimeoutMs: 2000 } as const;
    const [p1, p2] = await Promise.all([createStores(opts), createStores(opts)]);
    expect(p1.backend).toBe('redis');
    const results = await Promise.all([p1, p2, p1, p2].map((s) => s.limits.check({ now: T0, items: [{ ...rpm, id: 'shared' }] })));
    expect(results.map((r) => r.allowed).filter(Boolean)).toHaveLength(2);
    const { key } = await p1.keys.create({ project: 'acme', name: 'ci' }, T0);
    expect((await p2.keys.lookup(key))?.project).toBe('acme');
    await Promise.all([p1.close(), p2.close()]);
  });

  test('fail closed starts while Redis is unreachable, and refuses what needs it (no crash loop in an outage)', { timeout: 5000 }, async () => {
    const stores = await createStores({ redisUrl: 'redis://127.0.0.1:1', failMode: 'closed' });
    await expect(stores.limits.check({ now: T0, items: [rpm] })).rejects.toThrow(StoreUnavailableError);
    expect(stores.health.misses().limits).toBeGreaterThanOrEqual(1);
    await stores.close();
  });

  test('fail open starts anyway and admits uncounted calls', { timeout: 5000 }, async () => {
    const logs: string[] = [];
    const stores = await createStores({ redisUrl: 'redis://127.0.0.1:1', failMode: 'open', log: (m) => logs.push(m) });
    expect(await stores.limits.check({ now: T0, items: [rpm] })).toEqual({ allowed: true, now: T0, items: [], degraded: true });
    expect(stores.health.misses().limits).toBeGreaterThanOrEqual(1);
    expect(logs.length).toBeGreaterThanOrEqual(1);
    await stores.close();
  });
});
