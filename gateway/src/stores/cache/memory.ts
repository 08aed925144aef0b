import type { CachedResponse, CacheStore } from './types.ts';

export interface MemoryCacheOptions {
  /** Most entries kept (least recently used evicted first). */
  maxEntries?: number;
  /** Most bytes kept, measured as the UTF-16 length x2 of the stored payloads. */
  maxBytes?: number;
  /** Clock (ms), injectable so TTL tests need not sleep. */
  now?: () => number;
}

interface Entry {
  value: CachedResponse;
  bytes: number;
  expiresAt: number;
}

/**
 * In-process LRU cache bounded by entries and bytes: a Map keeps insertion order, so a hit is
 * re-inserted to become the newest and eviction takes from the front. Expired entries are
 * dropped when read or when they reach the front.
 */
export function createMemoryCacheStore(opts: MemoryCacheOptions = {}): CacheStore {
  const { maxEntries = 10_000, maxBytes = 64 * 1024 * 1024, now = Date.now } = opts;
  const entries = new Map<string, Entry>();
  let bytes = 0;

  const remove = (key: string, e: Entry): void => {
    entries.delete(key);
    bytes -= e.bytes;
  };

  return {
    async get(key) {
      const e = entries.get(key);
      if (!e) return null;
      if (e.expiresAt <= now()) {
        remove(key, e);
        return null;
      }
      entries.delete(key);
      entries.set(key, e);
      return e.value;
    },

    async set(key, value, ttlSeconds) {
      const old = entries.get(key);
      if (old) remove(key, old);
      if (!(ttlSeconds > 0)) return;
      const size = sizeOf(value);
      if (size > maxBytes) return;
      entries.set(key, { value, bytes: size, expiresAt: now() + ttlSeconds * 1000 });
      bytes += size;
      for (const [k, e] of entries) {
        if (entries.size <= maxEntries && bytes <= maxBytes) break;
        remove(k, e);
      }
    },

    async close() {
      entries.clear();
      bytes = 0;
    },
  };
}

function sizeOf(v: CachedResponse): number {
  let chars = 256; // status, usage, model, timestamps and Map overhead, roughly
  for (const [k, h] of Object.entries(v.headers)) chars += k.length + h.length;
  if (v.body !== undefined) chars += v.body.length;
  if (v.events) for (const e of v.events) chars += e.length + 16;
  return chars * 2;
}
