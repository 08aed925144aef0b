import type { Cluster } from 'ioredis';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { startRedisCluster, type TestRedisCluster } from '../../../test/redis/index.ts';
import { createRedisLimitStore } from './limits/redis.ts';
import type { LimitItem } from './limits/types.ts';
import { connectRedis, type RedisClient } from './redis.ts';

let cluster: TestRedisCluster;
let client: RedisClient;
beforeAll(async () => {
  cluster = await startRedisCluster();
  client = await connectRedis(cluster.url, { cluster: true, commandTimeoutMs: 2000 });
});
afterAll(async () => {
  client?.disconnect();
  await cluster?.stop();
});

/** Items in several scopes, as a call with a key, a user and a project has: one script, several keys. */
const items: LimitItem[] = [
  { scope: 'key', id: 'k1', kind: 'requests', window: 'minute', limit: 100, cost: 1 },
  { scope: 'user', id: 'acme/u1', kind: 'tokens', window: 'minute', limit: 10_000, cost: 50 },
  { scope: 'project', id: 'acme', kind: 'usd', window: 'day', limit: 10, cost: 0.5 },
];

describe('the Redis stores on a Redis Cluster', () => {
  test('one check over several scopes runs as one script: its keys share a hash slot', async () => {
    const store = createRedisLimitStore(client);
    const r = await store.check({ now: Date.now(), items });
    expect(r.allowed).toBe(true);
    const keys = await Promise.all(cluster.ports.map((p) => scanAll(p)));
    const limitKeys = keys.flat().filter((k) => k.includes(':lim') || k.startsWith('{wl:lim}'));
    expect(limitKeys.length).toBe(3);
    for (const k of limitKeys) expect(k.startsWith('{wl:lim}:')).toBe(true);
  });

  test('a node that restarts with the same slots is used again, without a topology change', async () => {
    const store = createRedisLimitStore(client);
    const owner = await slotOwner('{wl:lim}');
    await cluster.restartNode(cluster.ports.indexOf(owner));
    let last: unknown = null;
    for (let i = 0; i < 200; i++) {
      try {
        const r = await store.check({ now: Date.now(), items });
        expect(r.allowed).toBe(true);
        return;
      } catch (e) {
        last = e;
        await new Promise((r) => setTimeout(r, 50));
      }
    }
    throw new Error(`the restarted node was never used again: ${String(last)}`);
  });
});

/** Every key on the node at `port` (the test cluster is small). */
async function scanAll(port: number): Promise<string[]> {
  const node = (client as Cluster).nodes('master').find((n) => n.options.port === port);
  return node ? node.keys('*') : [];
}

/** The port of the master holding `key`'s slot. */
async function slotOwner(key: string): Promise<number> {
  const slot = (await client.cluster('KEYSLOT', key)) as number;
  const ranges = await client.cluster('SLOTS');
  const range = ranges.find(([from, to]) => slot >= from && slot <= to);
  const port = range?.[2]?.[1];
  if (port === undefined) throw new Error(`no node holds slot ${slot}`);
  return port;
}
