import type { LimitItem, LimitWindow } from './types.ts';

/**
 * How each window is counted. Both are exact under concurrency because every check runs
 * atomically (one Lua script in Redis, one synchronous call in process).
 *
 * - `minute` is a **sliding window** of 60 one-second buckets: a request is admitted when the
 *   buckets of the last 60 s plus its cost fit the limit, so no 60-bucket span ever holds more
 *   than the limit. GCRA was rejected: with a burst of L it admits up to 2L in one rolling minute
 *   (L at once, then L more as it refills), while users and the "N replicas admit exactly L" test
 *   expect L per window. Fixed windows were rejected for the same reason at minute edges.
 * - `day` and `month` are **calendar periods in UTC** (00:00 UTC; first of the month 00:00 UTC):
 *   budgets and daily quotas are read that way ("$50 in May"), and reset at a time one can state.
 */
export type WindowSpec =
  | { mode: 'sliding'; bucketMs: number; buckets: number }
  | { mode: 'calendar'; period: string; endsAt: number };

const MINUTE: WindowSpec = { mode: 'sliding', bucketMs: 1000, buckets: 60 };

/** Float tolerance for USD sums (0.1 + 0.2 must fit a limit of 0.3). */
export const EPSILON = 1e-9;

export function windowSpec(window: LimitWindow, now: number): WindowSpec {
  if (window === 'minute') return MINUTE;
  const d = new Date(now);
  const y = d.getUTCFullYear();
  const m = d.getUTCMonth();
  if (window === 'day') {
    const day = d.getUTCDate();
    return { mode: 'calendar', period: isoDate(y, m, day), endsAt: Date.UTC(y, m, day + 1) };
  }
  return { mode: 'calendar', period: isoDate(y, m, 1).slice(0, 7), endsAt: Date.UTC(y, m + 1, 1) };
}

function isoDate(y: number, m: number, day: number): string {
  return `${String(y).padStart(4, '0')}-${String(m + 1).padStart(2, '0')}-${String(day).padStart(2, '0')}`;
}

/**
 * Storage key of one item's counter; the free-form id comes last so it cannot be ambiguous.
 * Sliding counters carry their layout (`v2`: buckets plus a running sum, see scripts.ts), so a
 * replica of an older version never reads a hash it cannot parse during a rolling upgrade (the
 * two versions then count a minute apart); calendar counters (budgets) keep their keys.
 */
export function counterKey(item: Pick<LimitItem, 'scope' | 'id' | 'kind' | 'window'>, spec: WindowSpec): string {
  const period = spec.mode === 'calendar' ? `${spec.period}:` : 'v2:';
  return `wl:lim:${item.kind}:${item.window}:${period}${item.scope}:${item.id}`;
}

/** Bucket index -> amount, for one sliding-window counter. */
export type Buckets = Map<number, number>;

export interface SlidingView {
  used: number;
  /** ms until every counted bucket has left the window */
  resetMs: number;
  /** ms until `cost` fits (the window length when it never can) */
  retryAfterMs: number;
}

/** Drop buckets that left the window and measure the rest (mirrored by the Lua script). */
export function viewSliding(b: Buckets, spec: { bucketMs: number; buckets: number }, now: number, limit: number, cost: number): SlidingView {
  const current = Math.floor(now / spec.bucketMs);
  const oldest = current - spec.buckets + 1;
  let used = 0;
  let newest = -Infinity;
  for (const [idx, v] of b) {
    if (idx < oldest) b.delete(idx);
    else {
      used += v;
      if (v > 0 && idx > newest) newest = idx;
    }
  }
  const end = (idx: number): number => (idx + spec.buckets) * spec.bucketMs - now;
  const resetMs = newest === -Infinity ? 0 : end(newest);
  let retryAfterMs = 0;
  if (used + cost > limit + EPSILON) {
    retryAfterMs = spec.buckets * spec.bucketMs;
    if (cost <= limit + EPSILON) {
      let freed = 0;
      for (const idx of [...b.keys()].sort((x, y) => x - y)) {
        freed += b.get(idx) ?? 0;
        if (used - freed + cost <= limit + EPSILON) {
          retryAfterMs = end(idx);
          break;
        }
      }
    }
  }
  return { used, resetMs, retryAfterMs };
}
