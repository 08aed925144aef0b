import type { CheckRequest, ItemState, LimitResult, LimitStore, RefusedItem, SettleRequest } from './types.ts';
import { type Buckets, counterKey, EPSILON, viewSliding, windowSpec } from './windows.ts';

type Counter =
  | { mode: 'sliding'; buckets: Buckets; expiresAt: number }
  | { mode: 'calendar'; used: number; expiresAt: number };

const SWEEP_EVERY = 1024;

/**
 * In-process limits for a single gateway (the default without `WATCHLLM_REDIS_URL`). Same
 * algorithm as the Redis script; a check is synchronous, hence atomic within the process.
 */
export function createMemoryLimitStore(): LimitStore {
  const counters = new Map<string, Counter>();
  let calls = 0;

  function sweep(now: number): void {
    if (++calls % SWEEP_EVERY !== 0) return;
    for (const [k, c] of counters) if (c.expiresAt <= now) counters.delete(k);
  }

  function counter(key: string, mode: Counter['mode'], now: number): Counter {
    let c = counters.get(key);
    if (c && c.expiresAt <= now) c = undefined;
    if (!c || c.mode !== mode) {
      c = mode === 'sliding' ? { mode, buckets: new Map(), expiresAt: 0 } : { mode, used: 0, expiresAt: 0 };
      counters.set(key, c);
    }
    return c;
  }

  return {
    async check({ now, items }: CheckRequest): Promise<LimitResult> {
      sweep(now);
      const states: ItemState[] = [];
      const apply: (() => void)[] = [];
      let refused: RefusedItem | null = null;
      items.forEach((item, index) => {
        const spec = windowSpec(item.window, now);
        const c = counter(counterKey(item, spec), spec.mode, now);
        let used: number;
        let resetMs: number;
        let retryAfterMs: number;
        if (c.mode === 'sliding' && spec.mode === 'sliding') {
          ({ used, resetMs, retryAfterMs } = viewSliding(c.buckets, spec, now, item.limit, item.cost));
          const bucket = Math.floor(now / spec.bucketMs);
          apply.push(() => {
            if (item.cost <= 0) return;
            c.buckets.set(bucket, (c.buckets.get(bucket) ?? 0) + item.cost);
            c.expiresAt = (bucket + spec.buckets) * spec.bucketMs;
          });
        } else if (c.mode === 'calendar' && spec.mode === 'calendar') {
          used = c.used;
          resetMs = used > 0 ? spec.endsAt - now : 0;
          retryAfterMs = spec.endsAt - now;
          apply.push(() => {
            c.used += item.cost;
            c.expiresAt = spec.endsAt;
          });
        } else {
          throw new Error('unreachable: counter mode follows the window');
        }
        const state: ItemState = { item, used, remaining: Math.max(0, item.limit - used), resetMs };
        states.push(state);
        if (used + item.cost > item.limit + EPSILON && (!refused || retryAfterMs > refused.retryAfterMs)) {
          refused = { ...state, index, retryAfterMs };
        }
      });
      if (refused) return { allowed: false, now, items: states, refused };
      for (const fn of apply) fn();
      return { allowed: true, now, items: states.map((s) => afterReserve(s, now)) };
    },

    async settle({ now, reservedAt = now, items }: SettleRequest): Promise<void> {
      for (const item of items) {
        if (item.delta === 0) continue;
        const spec = windowSpec(item.window, reservedAt);
        const c = counter(counterKey(item, spec), spec.mode, now);
        if (c.mode === 'calendar' && spec.mode === 'calendar') {
          c.used = Math.max(0, c.used + item.delta);
          c.expiresAt = spec.endsAt;
        } else if (c.mode === 'sliding' && spec.mode === 'sliding') {
          const current = Math.floor(now / spec.bucketMs);
          let bucket = Math.floor(reservedAt / spec.bucketMs);
          // The reservation already left the window: giving it back would admit more than the
          // limit; extra consumption is still charged, to the current bucket.
          if (bucket <= current - spec.buckets) {
            if (item.delta < 0) continue;
            bucket = current;
          }
          c.buckets.set(bucket, Math.max(0, (c.buckets.get(bucket) ?? 0) + item.delta));
          c.expiresAt = Math.max(c.expiresAt, (bucket + spec.buckets) * spec.bucketMs);
        }
      }
    },

    async close() {
      counters.clear();
    },
  };
}

/** The state a client sees once its own cost is counted. */
export function afterReserve(s: ItemState, now: number): ItemState {
  const used = s.used + s.item.cost;
  if (s.item.cost <= 0) return s;
  const spec = windowSpec(s.item.window, now);
  const resetMs =
    spec.mode === 'sliding'
      ? (Math.floor(now / spec.bucketMs) + spec.buckets) * spec.bucketMs - now
      : spec.endsAt - now;
  return { item: s.item, used, remaining: Math.max(0, s.item.limit - used), resetMs };
}
