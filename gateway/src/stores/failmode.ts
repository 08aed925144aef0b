import { deadline } from '../deadline.ts';
import type { CacheStore } from './cache/types.ts';
import { SettleNotSentError, StoreUnavailableError } from './errors.ts';
import type { StoreHealth } from './health.ts';
import type { KeyStore } from './keys/types.ts';
import type { LimitStore } from './limits/types.ts';

export type FailMode = 'open' | 'closed';

export interface FailModeOptions {
  failMode: FailMode;
  health: StoreHealth;
  /**
   * Upper bound on any store call, on top of the client's own command timeout, so that no
   * request waits on Redis longer than this whatever state the connection is in.
   */
  timeoutMs?: number;
}

/**
 * What a Redis outage means for limits: `open` admits the call uncounted (`degraded: true`,
 * counted on /metrics, logged once); `closed` throws `StoreUnavailableError` (the gateway answers
 * 503). `settle` never fails a call in either mode: it runs after the answer, when there is no one
 * left to tell; a settle that may have reached Redis and failed is counted as a miss and dropped, one
 * that certainly did not is thrown back as `SettleNotSentError`, to be sent again later.
 */
export function withFailMode(store: LimitStore, { failMode, health, timeoutMs = 250 }: FailModeOptions): LimitStore {
  return {
    async check(req) {
      try {
        const result = await storeDeadline(store.check(req), timeoutMs);
        health.ok('limits');
        return result;
      } catch (err) {
        health.miss('limits', err);
        if (failMode === 'closed') throw new StoreUnavailableError('limits', err);
        return { allowed: true, now: req.now, items: [], degraded: true };
      }
    },
    async settle(req) {
      try {
        await storeDeadline(store.settle(req), timeoutMs);
        health.ok('limits');
      } catch (err) {
        health.miss('limits', err);
        // certain not to have reached Redis: the caller may keep it for when Redis is back
        if (notSent(err)) throw new SettleNotSentError(err);
      }
    },
    close: () => store.close(),
  };
}

/**
 * The cache is an optimisation, so an outage never fails a call whatever the fail mode: `get`
 * answers a miss, `set` is dropped; both count a miss.
 */
export function cacheWithFallback(store: CacheStore, { health, timeoutMs = 250 }: Omit<FailModeOptions, 'failMode'>): CacheStore {
  const guard = async <T>(p: Promise<T>, fallback: T): Promise<T> => {
    try {
      const v = await storeDeadline(p, timeoutMs);
      health.ok('cache');
      return v;
    } catch (err) {
      health.miss('cache', err);
      return fallback;
    }
  };
  return {
    get: (key) => guard(store.get(key), null),
    set: (key, value, ttl) => guard(store.set(key, value, ttl), undefined),
    close: () => store.close(),
  };
}

/**
 * Keys cannot fail open (an unknown `wl_` key must never be let through), so every failure is a
 * `StoreUnavailableError` (503), bounded in time like the others.
 */
export function keysWithTimeout(store: KeyStore, { health, timeoutMs = 250 }: Omit<FailModeOptions, 'failMode'>): KeyStore {
  const guard = async <T>(p: Promise<T>): Promise<T> => {
    try {
      const v = await storeDeadline(p, timeoutMs);
      health.ok('keys');
      return v;
    } catch (err) {
      if (err instanceof StoreUnavailableError || !isOutage(err)) throw err;
      health.miss('keys', err);
      throw new StoreUnavailableError('keys', err);
    }
  };
  return {
    create: (input, now) => guard(store.create(input, now)),
    put: (record) => guard(store.put(record)),
    list: (filter) => guard(store.list(filter)),
    get: (id) => guard(store.get(id)),
    lookup: (key, now) => guard(store.lookup(key, now)),
    revoke: (id, now) => guard(store.revoke(id, now)),
    rotate: (id, now) => guard(store.rotate(id, now)),
    close: () => store.close(),
  };
}

/**
 * ioredis refuses a command without sending it while it has no connection (`enableOfflineQueue:
 * false`: "Stream isn't writeable and enableOfflineQueue options is false"; a cluster: "Cluster
 * isn't ready and enableOfflineQueue options is false"). Any other failure may come after Redis ran it.
 */
function notSent(err: unknown): boolean {
  return err instanceof Error && /enableOfflineQueue options is false/.test(err.message);
}

class DeadlineError extends Error {
  override readonly name = 'DeadlineError';
}

/** A store call past its deadline. */
function storeDeadline<T>(p: Promise<T>, ms: number): Promise<T> {
  return deadline(p, ms, () => new DeadlineError(`store call exceeded ${ms} ms`));
}

/**
 * Connection-level failures (as opposed to caller errors like a bad input, which must surface
 * as themselves): our deadline, ioredis' timeout/closed/offline errors, socket errors.
 */
function isOutage(err: unknown): boolean {
  if (!(err instanceof Error)) return false;
  if (err instanceof DeadlineError) return true;
  const code = (err as { code?: unknown }).code;
  if (typeof code === 'string' && /^E[A-Z]+$/.test(code)) return true;
  return /timed out|Connection is closed|enableOfflineQueue|Stream isn't writeable|ECONNREFUSED|MaxRetriesPerRequest/i.test(err.message);
}

