import type { RedisClient } from './redis.ts';
import { afterAll, beforeAll, beforeEach, describe, expect, test } from 'vitest';
import { startRedis, type TestRedis } from '../../../test/redis/index.ts';
import { createRedisCacheStore } from './cache/redis.ts';
import { SettleNotSentError, StoreUnavailableError } from './errors.ts';
import { cacheWithFallback, keysWithTimeout, withFailMode } from './failmode.ts';
import { createStoreHealth, type StoreHealth } from './health.ts';
import { createRedisKeyStore } from './keys/redis.ts';
import { createRedisLimitStore } from './limits/redis.ts';
import type { LimitItem } from './limits/types.ts';
import { connectRedis } from './redis.ts';
import { T0 } from './testing.ts';

// Every test here runs against a dead or stalled Redis: vitest's own timeout (2-3 s, against a
// 300 ms command timeout — production uses 100 ms; this leaves room for a loaded CI machine) is
// what proves no call hangs.
const NO_HANG = 2000;
const item: LimitItem = { scope: 'key', id: 'k1', kind: 'requests', window: 'minute', limit: 5, cost: 1 };

let server: TestRedis;
let client: RedisClient;
let logs: string[];
let health: StoreHealth;

beforeAll(async () => {
  server = await startRedis();
  client = await connectRedis(server.url, { commandTimeoutMs: 300 });
});
afterAll(async () => {
  client.disconnect();
  await server.stop();
});
beforeEach(() => {
  logs = [];
  health = createStoreHealth((m) => logs.push(m));
});

async function untilUp(): Promise<void> {
  for (;;) {
    try {
      await client.ping();
      return;
    } catch {
      await new Promise((r) => setTimeout(r, 50));
    }
  }
}

describe('Redis dies mid-test', () => {
  test('fail open admits uncounted, counts every miss and logs once', { timeout: 5000 }, async () => {
    const limits = withFailMode(createRedisLimitStore(client), { failMode: 'open', health, timeoutMs: 1000 });
    expect(await limits.check({ now: T0, items: [item] })).toMatchObject({ allowed: true, items: [{ used: 1 }] });
    await server.stop();
    const r1 = await limits.check({ now: T0, items: [item] });
    const r2 = await limits.check({ now: T0, items: [item] });
    expect([r1, r2]).toEqual([
      { allowed: true, now: T0, items: [], degraded: true },
      { allowed: true, now: T0, items: [], degraded: true },
    ]);
    // a settlement refused unsent is handed back, to be sent once Redis is back (SettleBatcher)
    await expect(limits.settle({ now: T0, items: [{ ...item, delta: 1 }] })).rejects.toBeInstanceOf(SettleNotSentError);
    expect(health.misses()).toEqual({ limits: 3, cache: 0, keys: 0 });
    expect(logs).toHaveLength(1);
    expect(logs[0]).toContain('limits store unavailable');
  });

  test('after a restart the store serves again (scripts reloaded on NOSCRIPT)', { timeout: 10_000 }, async () => {
    await server.restart();
    await untilUp();
    const limits = withFailMode(createRedisLimitStore(client), { failMode: 'closed', health });
    expect(await limits.check({ now: T0, items: [item] })).toMatchObject({ allowed: true, items: [{ used: 1 }] });
  });

  test('fail closed rejects with StoreUnavailableError (a 503), without hanging', { timeout: NO_HANG }, async () => {
    const limits = withFailMode(createRedisLimitStore(client), { failMode: 'closed', health });
    await server.stop();
    const err = await limits.check({ now: T0, items: [item] }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(StoreUnavailableError);
    expect(err).toMatchObject({ status: 503, store: 'limits' });
    expect(health.misses().limits).toBe(1);
  });

  test('the cache answers a miss and drops writes; key lookups fail with 503', { timeout: NO_HANG }, async () => {
    const cache = cacheWithFallback(createRedisCacheStore(client), { health });
    const keys = keysWithTimeout(createRedisKeyStore(client), { health });
    expect(await cache.get('abc')).toBeNull();
    await cache.set('abc', { status: 200, headers: {}, body: '{}', usage: null, model: 'm', createdAt: T0 }, 60);
    const err = await keys.lookup(`wl_${'a'.repeat(43)}`).catch((e: unknown) => e);
    expect(err).toMatchObject({ name: 'StoreUnavailableError', store: 'keys', status: 503 });
    expect(health.misses()).toEqual({ limits: 0, cache: 2, keys: 1 });
  });
});

describe('Redis stalls', () => {
  test('a stalled server fails the call after the command timeout instead of hanging', { timeout: 3000 }, async () => {
    await server.restart();
    await untilUp();
    const admin = await connectRedis(server.url);
    // CLIENT PAUSE holds every client's commands, as an overloaded or frozen server would — for
    // longer than this test may run, so only ioredis' commandTimeout can end the calls (the
    // wrappers' own deadline is set out of the way).
    await admin.call('CLIENT', 'PAUSE', '10000', 'ALL');
    const open = withFailMode(createRedisLimitStore(client), { failMode: 'open', health, timeoutMs: 60_000 });
    const closed = withFailMode(createRedisLimitStore(client), { failMode: 'closed', health, timeoutMs: 60_000 });
    const [o, c] = await Promise.all([open.check({ now: T0, items: [item] }), closed.check({ now: T0, items: [item] }).catch((e: unknown) => e)]);
    expect(o).toMatchObject({ allowed: true, degraded: true });
    expect(c).toBeInstanceOf(StoreUnavailableError);
    expect(String(c)).toMatch(/timed out/);
    admin.disconnect();
  });
});
