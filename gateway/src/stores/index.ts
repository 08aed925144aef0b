/**
 * Stores for limits, budgets, cache and gateway keys: in process by default, shared through
 * Redis when `WATCHLLM_REDIS_URL` is set. `createStores` wires the right pair with fail modes.
 */
import { createMemoryCacheStore, type MemoryCacheOptions } from './cache/memory.ts';
import { createRedisCacheStore } from './cache/redis.ts';
import type { CacheStore } from './cache/types.ts';
import { cacheWithFallback, type FailMode, keysWithTimeout, withFailMode } from './failmode.ts';
import { createStoreHealth, type StoreHealth } from './health.ts';
import { createSecretBox, type SecretBox } from './keys/crypto.ts';
import { createMemoryKeyStore } from './keys/memory.ts';
import { createRedisKeyStore } from './keys/redis.ts';
import type { KeyStore } from './keys/types.ts';
import { createMemoryLimitStore } from './limits/memory.ts';
import { createRedisLimitStore } from './limits/redis.ts';
import type { LimitStore } from './limits/types.ts';
import { createRedisClient, type RedisClient } from './redis.ts';

export { StoreUnavailableError } from './errors.ts';
export { createStoreHealth, type StoreHealth, type StoreName } from './health.ts';
export { cacheWithFallback, type FailMode, type FailModeOptions, keysWithTimeout, withFailMode } from './failmode.ts';
export { connectRedis, createRedisClient, type RedisClient, type RedisClientOptions } from './redis.ts';

export * from './limits/types.ts';
export { budgetsOverThreshold, formatDuration, rateLimitHeaders, retryAfterSeconds } from './limits/headers.ts';
export { createMemoryLimitStore } from './limits/memory.ts';
export { createRedisLimitStore } from './limits/redis.ts';
export { EPSILON, windowSpec, type WindowSpec } from './limits/windows.ts';

export { type CachedResponse, cachedResponseSchema, type CacheStore } from './cache/types.ts';
export { cacheKey, type CacheKeyInput, type CacheableOptions, canonicalJson, isCacheable } from './cache/key.ts';
export { createMemoryCacheStore, type MemoryCacheOptions } from './cache/memory.ts';
export { createRedisCacheStore } from './cache/redis.ts';

export * from './keys/types.ts';
export { createSecretBox, type SecretBox, SecretBoxError } from './keys/crypto.ts';
export { DECLARED_KEY_PREFIX, generateKey, hashKey, isGatewayKey, KEY_PREFIX } from './keys/material.ts';
export { issueKey, parseBudgetFlag, providerKeyFor, publicKeyView, rotateKey } from './keys/record.ts';
export { createMemoryKeyStore, type KeyStoreOptions } from './keys/memory.ts';
export { createRedisKeyStore, type RedisKeyStoreOptions } from './keys/redis.ts';

export interface StoresOptions {
  /** WATCHLLM_REDIS_URL; unset -> in-process stores. */
  redisUrl?: string | null;
  /** WATCHLLM_REDIS_CLUSTER: the URL names a node of a Redis Cluster. */
  redisCluster?: boolean;
  /** What a Redis outage means for limits (default 'open'). */
  failMode?: FailMode;
  /** WATCHLLM_SECRET; unset -> keys cannot carry provider credentials. */
  secret?: string | null;
  /** Redis per-command timeout (default 100 ms). */
  commandTimeoutMs?: number;
  cache?: MemoryCacheOptions;
  log?: (message: string) => void;
}

export interface Stores {
  backend: 'memory' | 'redis';
  limits: LimitStore;
  cache: CacheStore;
  /**
   * Small records the gateway keeps about calls (who made a stored response, a background call's
   * reservation and whether its usage was counted). In process, a store of their own: in the
   * answers' cache, a caller filling it (`x-watchllm-cache: on`) would evict another project's
   * ownership marks. With Redis, the cache's store.
   */
  marks: CacheStore;
  keys: KeyStore;
  /** Misses per store, for `/metrics`. */
  health: StoreHealth;
  /** For `providerKeyFor`; null without WATCHLLM_SECRET. */
  box: SecretBox | null;
  /** The shared client (null in process), e.g. for `/readyz`. */
  redis: RedisClient | null;
  close(): Promise<void>;
}

/**
 * Build the stores for one gateway process. With Redis and `failMode: 'closed'` the first
 * connection must succeed; with `'open'` the gateway waits for the first attempt only, starts
 * anyway when it fails and connects in the background (calls are admitted uncounted meanwhile).
 */
/** In process: marks kept at most (a mark is about 100 bytes; 30 days of responses of a busy gateway). */
const MAX_MARKS = 200_000;

export async function createStores(opts: StoresOptions = {}): Promise<Stores> {
  const { redisUrl, failMode = 'open', secret, commandTimeoutMs = 100, log } = opts;
  const health = createStoreHealth(log);
  const box = secret ? createSecretBox(secret) : null;
  const keyOpts = box ? { box } : {};
  if (!redisUrl) {
    return {
      backend: 'memory',
      limits: createMemoryLimitStore(),
      cache: createMemoryCacheStore(opts.cache),
      marks: createMemoryCacheStore({ maxEntries: MAX_MARKS, maxBytes: 64 * 1024 * 1024 }),
      keys: createMemoryKeyStore(keyOpts),
      health,
      box,
      redis: null,
      async close() {},
    };
  }
  const client = createRedisClient(redisUrl, { commandTimeoutMs, cluster: opts.redisCluster ?? false });
  // Wait for the first attempt (bounded by the connect timeout). Not waiting let the gateway seed
  // the watchllm.yaml keys into a client not yet connected, which failed the start, and admitted
  // its first calls uncounted beside a healthy Redis. An unreachable Redis still lets it start, in
  // either fail mode (a replica restarted during an outage must not crash-loop): ioredis keeps
  // reconnecting in the background, /readyz says what is down, and the fail mode decides calls.
  await client.connect().catch((err: unknown) => health.miss('limits', err));
  // The wrappers' own deadline sits above the command timeout, catching what it cannot
  // (a connection stuck half-open).
  const guard = { health, timeoutMs: commandTimeoutMs * 2 + 50 };
  const cache = cacheWithFallback(createRedisCacheStore(client), guard);
  return {
    backend: 'redis',
    limits: withFailMode(createRedisLimitStore(client), { ...guard, failMode }),
    cache,
    marks: cache,
    keys: keysWithTimeout(createRedisKeyStore(client, keyOpts), guard),
    health,
    box,
    redis: client,
    async close() {
      await client.quit().catch(() => client.disconnect());
    },
  };
}
