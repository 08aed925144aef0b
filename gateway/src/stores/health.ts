export type StoreName = 'limits' | 'cache' | 'keys';

/**
 * Counts calls a store could not serve (Redis down or slow) for `/metrics`
 * (`watchllm_store_misses_total{store}`), and logs the first failure of each outage once —
 * not once per request, which would flood the log while Redis is down.
 */
export interface StoreHealth {
  /** Record a failed store call; logs only on the first failure since the last success. */
  miss(store: StoreName, err: unknown): void;
  /** Record a successful store call (re-arms the log-once). */
  ok(store: StoreName): void;
  /** Failed calls per store since start. */
  misses(): Record<StoreName, number>;
}

export function createStoreHealth(
  log: (message: string) => void = (m) => console.warn(m),
): StoreHealth {
  const counts: Record<StoreName, number> = { limits: 0, cache: 0, keys: 0 };
  const down = new Set<StoreName>();
  return {
    miss(store, err) {
      counts[store]++;
      if (down.has(store)) return;
      down.add(store);
      log(`watchllm: ${store} store unavailable (${err instanceof Error ? err.message : String(err)})`);
    },
    ok(store) {
      if (down.delete(store)) log(`watchllm: ${store} store available again`);
    },
    misses: () => ({ ...counts }),
  };
}
