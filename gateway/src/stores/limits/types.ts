import { z } from 'zod';

export const limitScopeSchema = z.enum(['key', 'user', 'project', 'model']);
export const limitKindSchema = z.enum(['requests', 'tokens', 'usd']);
export const limitWindowSchema = z.enum(['minute', 'day', 'month']);

/**
 * One limit that applies to a request, e.g. "key k1: at most 100 requests per minute".
 * `cost` is what this request reserves: 1 for requests, the token estimate for tokens, the
 * maximum possible USD cost for budgets (settled to the real value afterwards).
 */
export const limitItemSchema = z.object({
  scope: limitScopeSchema,
  id: z.string().min(1),
  kind: limitKindSchema,
  window: limitWindowSchema,
  limit: z.number().nonnegative(),
  cost: z.number().nonnegative(),
});
export type LimitItem = z.infer<typeof limitItemSchema>;
export type LimitScope = z.infer<typeof limitScopeSchema>;
export type LimitKind = z.infer<typeof limitKindSchema>;
export type LimitWindow = z.infer<typeof limitWindowSchema>;

export interface CheckRequest {
  /** Caller's clock, ms since epoch (replicas are assumed NTP-synced; skew only shifts buckets). */
  now: number;
  items: LimitItem[];
}

/** State of one item after a check (after its reservation when the check admitted). */
export interface ItemState {
  item: LimitItem;
  /** Amount counted in the current window, including this request if admitted. */
  used: number;
  /** `limit - used`, never below 0. */
  remaining: number;
  /** Milliseconds until the window is back to its initial state (nothing counted). */
  resetMs: number;
}

export interface RefusedItem extends ItemState {
  /** Position of the refusing item in `CheckRequest.items`. */
  index: number;
  /** Milliseconds until this request's cost would fit (the window length if it never can). */
  retryAfterMs: number;
}

export type LimitResult =
  | {
      allowed: true;
      now: number;
      items: ItemState[];
      /** The store was unavailable and `failMode: 'open'` admitted the call without counting it. */
      degraded?: true;
    }
  | {
      allowed: false;
      now: number;
      items: ItemState[];
      /** The refusing item with the longest wait: retrying sooner would be refused again. */
      refused: RefusedItem;
    };

/** Adjust a reservation to the real amount once known (tokens or USD after the call). */
export interface SettleItem extends Omit<LimitItem, 'cost'> {
  /** real - reserved; negative gives capacity back. */
  delta: number;
}

export interface SettleRequest {
  now: number;
  /** The `now` of the check that reserved (defaults to `now`): the delta lands in that bucket. */
  reservedAt?: number;
  items: SettleItem[];
}

/**
 * Every applicable limit for a request in one atomic call: either all items are admitted and
 * reserved, or none is. Redis: one Lua script, one round trip.
 */
export interface LimitStore {
  check(req: CheckRequest): Promise<LimitResult>;
  settle(req: SettleRequest): Promise<void>;
  close(): Promise<void>;
}
