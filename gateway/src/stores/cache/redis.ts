import type { RedisClient } from '../redis.ts';
import { type CachedResponse, cachedResponseSchema, type CacheStore } from './types.ts';

const PREFIX = 'wl:cache:';

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
      const ms = Math.round(ttlSeconds * 1000);
      if (!(ms > 0)) {
        await client.del(PREFIX + key);
        return;
      }
      await client.set(PREFIX + key, JSON.stringify(value), 'PX', ms);
    },

    async close() {},
  };
}
