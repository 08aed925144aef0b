import { afterAll, beforeAll, beforeEach, describe, expect, test } from 'vitest';
import { T0, redisFixture, type RedisFixture } from '../testing.ts';
import { budgetsOverThreshold, rateLimitHeaders } from './headers.ts';
import { createMemoryLimitStore } from './memory.ts';
import { createRedisLimitStore } from './redis.ts';
import type { LimitItem, LimitStore, SettleRequest } from './types.ts';

let redis: RedisFixture;
beforeAll(async () => {
  redis = await redisFixture();
});
afterAll(() => redis.close());

/** Two replicas: the same store in process; two stores on two connections to one Redis. */
const targets = [
  { name: 'memory', replicas: (): [LimitStore, LimitStore] => { const s = createMemoryLimitStore(); return [s, s]; } },
  {
    name: 'redis',
    replicas: (): [LimitStore, LimitStore] => [createRedisLimitStore(redis.replicaA), createRedisLimitStore(redis.replicaB)],
  },
] as const;

const rpm = (limit: number, id = 'k1'): LimitItem => ({ scope: 'key', id, kind: 'requests', window: 'minute', limit, cost: 1 });
const tpm = (limit: number, cost: number, id = 'k1'): LimitItem => ({ scope: 'key', id, kind: 'tokens', window: 'minute', limit, cost });
const usd = (limit: number, cost: number, window: 'day' | 'month' = 'month'): LimitItem => ({ scope: 'project', id: 'acme', kind: 'usd', window, limit, cost });

describe.each(targets)('LimitStore ($name)', ({ name, replicas }) => {
  let a: LimitStore;
  let b: LimitStore;
  beforeEach(async () => {
    if (name === 'redis') await redis.replicaA.flushall();
    [a, b] = replicas();
  });

  test('two replicas checking concurrently admit exactly the limit, split arbitrarily', async () => {
    const calls = Array.from({ length: 60 }, (_, i) => (i % 3 === 0 ? a : b).check({ now: T0 + (i % 7) * 100, items: [rpm(25)] }));
    const results = await Promise.all(calls);
    expect(results.filter((r) => r.allowed)).toHaveLength(25);
    const refused = results.find((r) => !r.allowed);
    expect(refused && !refused.allowed && refused.refused.remaining).toBe(0);
  });

  test('token limits hold across replicas with uneven costs', async () => {
    const costs = Array.from({ length: 40 }, (_, i) => 100 + (i % 5) * 50);
    const results = await Promise.all(costs.map((cost, i) => (i % 2 ? a : b).check({ now: T0, items: [tpm(5000, cost)] })));
    const admitted = costs.filter((_, i) => results[i]?.allowed).reduce((s, c) => s + c, 0);
    expect(admitted).toBeLessThanOrEqual(5000);
    // only a call too big for what is left is refused
    expect(admitted).toBeGreaterThan(5000 - 300);
  });

  test('a refusal names the item, its remaining and when the oldest request leaves the window', async () => {
    for (const dt of [0, 10_000, 20_000]) expect((await a.check({ now: T0 + dt, items: [rpm(3)] })).allowed).toBe(true);
    const r = await b.check({ now: T0 + 30_000, items: [tpm(1000, 10), rpm(3)] });
    expect(r.allowed).toBe(false);
    if (r.allowed) return;
    expect(r.refused).toMatchObject({ index: 1, used: 3, remaining: 0, retryAfterMs: 30_000, item: { kind: 'requests', limit: 3 } });
    expect(rateLimitHeaders(r)).toMatchObject({ 'retry-after': '30', 'x-ratelimit-remaining-requests': '0' });
    // the window slides: one minute after the first call, one slot is free again
    expect((await a.check({ now: T0 + 60_000, items: [rpm(3)] })).allowed).toBe(true);
    expect((await a.check({ now: T0 + 60_000, items: [rpm(3)] })).allowed).toBe(false);
  });

  test('all or nothing: when one item refuses, no item is reserved', async () => {
    const items = [rpm(10), usd(5, 1), tpm(100, 150)];
    const r = await a.check({ now: T0, items });
    expect(r.allowed).toBe(false);
    if (!r.allowed) expect(r.refused.index).toBe(2);
    const after = await b.check({ now: T0, items: [rpm(10), usd(5, 1)] });
    expect(after.items.map((s) => s.used)).toEqual([1, 1]);
  });

  test('admitted results report usage including the call itself, for the headers', async () => {
    await a.check({ now: T0, items: [rpm(100), tpm(50_000, 1200)] });
    const r = await b.check({ now: T0 + 1500, items: [rpm(100), tpm(50_000, 800)] });
    expect(r.allowed).toBe(true);
    expect(r.items.map(({ used, remaining }) => ({ used, remaining }))).toEqual([
      { used: 2, remaining: 98 },
      { used: 2000, remaining: 48_000 },
    ]);
    expect(rateLimitHeaders(r)).toEqual({
      'x-ratelimit-limit-requests': '100',
      'x-ratelimit-remaining-requests': '98',
      'x-ratelimit-reset-requests': '59.5s',
      'x-ratelimit-limit-tokens': '50000',
      'x-ratelimit-remaining-tokens': '48000',
      'x-ratelimit-reset-tokens': '59.5s',
    });
  });

  test('settle gives back an over-estimate and charges an under-estimate', async () => {
    expect((await a.check({ now: T0, items: [tpm(1000, 800)] })).allowed).toBe(true);
    expect((await b.check({ now: T0 + 100, items: [tpm(1000, 300)] })).allowed).toBe(false);
    await a.settle({ now: T0 + 2000, reservedAt: T0, items: [{ scope: 'key', id: 'k1', kind: 'tokens', window: 'minute', limit: 1000, delta: -600 }] });
    const r = await b.check({ now: T0 + 2100, items: [tpm(1000, 300)] });
    expect(r.items[0]?.used).toBe(500);
    await b.settle({ now: T0 + 3000, items: [{ scope: 'key', id: 'k1', kind: 'tokens', window: 'minute', limit: 1000, delta: 450 }] });
    const full = await a.check({ now: T0 + 3000, items: [tpm(1000, 100)] });
    expect(full.allowed).toBe(false);
    expect(full.items[0]?.used).toBe(950);
  });

  test('settling a reservation that already left the window gives nothing back', async () => {
    await a.check({ now: T0, items: [tpm(1000, 900)] });
    const settle = { scope: 'key', id: 'k1', kind: 'tokens', window: 'minute', limit: 1000 } as const;
    await a.settle({ now: T0 + 61_000, reservedAt: T0, items: [{ ...settle, delta: -900 }] });
    expect((await b.check({ now: T0 + 61_000, items: [tpm(1000, 0)] })).items[0]?.used).toBe(0);
    await a.settle({ now: T0 + 61_000, reservedAt: T0, items: [{ ...settle, delta: 200 }] });
    expect((await b.check({ now: T0 + 61_000, items: [tpm(1000, 0)] })).items[0]?.used).toBe(200);
  });

  test('the reset time follows the newest bucket still holding tokens after a settle empties one', async () => {
    await a.check({ now: T0, items: [tpm(1000, 100)] });
    await a.check({ now: T0 + 5000, items: [tpm(1000, 100)] });
    const settle = { scope: 'key', id: 'k1', kind: 'tokens', window: 'minute', limit: 1000 } as const;
    await b.settle({ now: T0 + 5500, reservedAt: T0 + 5000, items: [{ ...settle, delta: -100 }] });
    const r = await b.check({ now: T0 + 6000, items: [tpm(1000, 0)] });
    expect(r.items[0]).toMatchObject({ used: 100, resetMs: 54_000 });
  });

  test('a spent monthly budget refuses until the first of next month, UTC', async () => {
    expect((await a.check({ now: T0, items: [usd(1, 0.6)] })).allowed).toBe(true);
    const r = await b.check({ now: T0, items: [usd(1, 0.6)] });
    expect(r.allowed).toBe(false);
    if (r.allowed) return;
    expect(r.refused).toMatchObject({ used: 0.6, item: { kind: 'usd', window: 'month' } });
    expect(r.refused.retryAfterMs).toBe(Date.UTC(2100, 5, 1) - T0);
    expect((await a.check({ now: Date.UTC(2100, 5, 1), items: [usd(1, 0.6)] })).allowed).toBe(true);
  });

  test('a daily budget resets at 00:00 UTC and settles to the real cost', async () => {
    await a.check({ now: T0, items: [usd(0.3, 0.25, 'day')] });
    await a.settle({ now: T0 + 5000, reservedAt: T0, items: [{ ...usd(0.3, 0, 'day'), delta: -0.15 }] });
    const r = await b.check({ now: T0 + 6000, items: [usd(0.3, 0.2, 'day')] });
    // 0.1 + 0.2 fits 0.3 despite binary floating point
    expect(r.allowed).toBe(true);
    const spent = await b.check({ now: T0 + 7000, items: [usd(0.3, 0.01, 'day')] });
    expect(!spent.allowed && spent.refused.retryAfterMs).toBe(Date.UTC(2100, 4, 11) - T0 - 7000);
  });

  test('budgets already at 80% or more when a call comes are flagged for the soft threshold', async () => {
    const first = await a.check({ now: T0, items: [usd(50, 30), rpm(100)] });
    expect(budgetsOverThreshold(first)).toEqual([]);
    const second = await b.check({ now: T0, items: [usd(50, 10), rpm(100)] });
    expect(budgetsOverThreshold(second)).toEqual([]);
    const third = await a.check({ now: T0, items: [usd(50, 5), rpm(100)] });
    expect(budgetsOverThreshold(third).map((s) => ({ used: s.used, limit: s.item.limit }))).toEqual([{ used: 45, limit: 50 }]);
  });

  test('a cost larger than the whole limit is refused with the window length as retry-after', async () => {
    const r = await a.check({ now: T0, items: [tpm(1000, 1500)] });
    expect(!r.allowed && r.refused).toMatchObject({ used: 0, remaining: 1000, retryAfterMs: 60_000 });
  });

  test('limits of different scopes with the same id are counted apart', async () => {
    await a.check({ now: T0, items: [rpm(1, 'x')] });
    const r = await b.check({ now: T0, items: [{ ...rpm(1, 'x'), scope: 'user' }] });
    expect(r.allowed).toBe(true);
  });
});

describe('Redis sliding counters (running sum) agree with the in-process store', () => {
  beforeEach(() => redis.replicaA.flushall());

  /** Deterministic pseudo-random numbers (mulberry32), so a failure replays. */
  function rng(seed: number): () => number {
    let s = seed >>> 0;
    return () => {
      s = (s + 0x6d2b79f5) >>> 0;
      let t = s;
      t = Math.imul(t ^ (t >>> 15), t | 1);
      t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
      return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
    };
  }

  test.each([1, 2, 3])('random checks and settles over three minutes, idle gaps included (seed %i)', async (seed) => {
    const random = rng(seed);
    const memory = createMemoryLimitStore();
    const shared = createRedisLimitStore(redis.replicaA);
    const other = createRedisLimitStore(redis.replicaB);
    const item = (id: string): LimitItem[] => [rpm(40, id), tpm(3000, 0, id)];
    const reservations: Array<{ at: number; id: string; cost: number }> = [];
    let now = T0;
    for (let step = 0; step < 400; step++) {
      // mostly sub-second steps; sometimes a gap of many buckets, or longer than the window
      const r = random();
      now += r < 0.9 ? Math.floor(random() * 700) : r < 0.97 ? 5_000 + Math.floor(random() * 40_000) : 61_000 + Math.floor(random() * 30_000);
      const id = random() < 0.7 ? 'a' : 'b';
      if (random() < 0.75 || reservations.length === 0) {
        const cost = Math.floor(random() * 400);
        const items = item(id).map((i) => (i.kind === 'tokens' ? { ...i, cost } : i));
        const want = await memory.check({ now, items });
        const got = await (step % 2 ? shared : other).check({ now, items });
        expect({ step, got }).toEqual({ step, got: want });
        if (want.allowed) reservations.push({ at: now, id, cost });
      } else {
        const res = reservations.splice(Math.floor(random() * reservations.length), 1)[0]!;
        // the call used nothing (it failed), or less or more than it reserved
        const delta = random() < 0.25 ? -res.cost : Math.floor(random() * 500) - res.cost;
        const req: SettleRequest = { now, reservedAt: res.at, items: [{ scope: 'key', id: res.id, kind: 'tokens', window: 'minute', limit: 3000, delta }] };
        await memory.settle(req);
        await shared.settle(req);
      }
    }
  });
});
