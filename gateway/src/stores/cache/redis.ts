import type { RedisClient } from '../redis.ts';
import { type CachedResponse, cachedResponseSchema, type CacheStore } from './types.ts';

const PREFIX = 'wl:cache:';

/**
 * Longest expiry sent with PX (about 285,000 years: "never", for a cache). Redis refuses a PX that is
 * not an integer or whose deadline overflows 64 bits ("value is not an integer or out of range"), and
 * ioredis would send 1e21 as "1e+21": a TTL from config or a key (which have no upper bound) must never
 * turn into a failed write counted as a store outage.
 */
const MAX_PX = Number.MAX_SAFE_INTEGER;

/**
 * Cache shared by every replica: one JSON string per entry, `SET ... PX` so Redis expires it.
 * An entry that does not parse (older format, manual edit) is treated as a miss.
 */
export function createRedisCacheStore(client: RedisClient): CacheStore {
  return {
    async get(key) {
      const raw = await client.get(PREFIX + key);
      if (raw === null) return null;
      let json: unknown;
      try {
        json = JSON.parse(raw);
      } catch {
        return null;
      }
      const parsed = cachedResponseSchema.safeParse(json);
      return parsed.success ? parsed.data : null;
    },

    async set(key, value: CachedResponse, ttlSeconds) {
      const ms = Math.min(Math.round(ttlSeconds * 1000), MAX_PX);
      if (!(ms > 0)) {
        await client.del(PREFIX + key);
        return;
      }
      await client.set(PREFIX + key, JSON.stringify(value), 'PX', ms);
    },

    async close() {},
  };
}
