import { tagged, type RedisClient } from '../redis.ts';
import { afterReserve } from './memory.ts';
import { checkScript, settleScript } from './scripts.ts';
import type { CheckRequest, ItemState, LimitResult, LimitStore, SettleRequest } from './types.ts';
import { counterKey, type WindowSpec, windowSpec } from './windows.ts';

/**
 * Limits shared by every replica through one Redis: each check is one EVALSHA of `checkScript`,
 * which Redis runs atomically, so N gateways together admit exactly the configured amount. On a
 * cluster every counter carries the `{wl:lim}` hash tag: one script's keys must share a slot.
 * The client should come from `createRedisClient` (fail-fast options); wrap the store with
 * `withFailMode` to choose what a Redis outage means.
 */
export function createRedisLimitStore(client: RedisClient): LimitStore {
  return {
    async check({ now, items }: CheckRequest): Promise<LimitResult> {
      if (items.length === 0) return { allowed: true, now, items: [] };
      const keys: string[] = [];
      const args: (string | number)[] = [now];
      for (const item of items) {
        const spec = windowSpec(item.window, now);
        keys.push(tagged(client, counterKey(item, spec), 'wl:lim'));
        const [mode, a, b] = specArgs(spec);
        args.push(mode, item.limit, item.cost, a, b);
      }
      const reply = await checkScript.run(client, keys, args);
      if (!Array.isArray(reply)) throw new Error('limit script: unexpected reply');
      const nums = reply.map((v) => Number(v));
      const refusedAt = nums[0] ?? 0;
      const states: ItemState[] = items.map((item, i) => {
        const used = nums[1 + i * 3] ?? 0;
        return { item, used, remaining: Math.max(0, item.limit - used), resetMs: nums[2 + i * 3] ?? 0 };
      });
      if (refusedAt === 0) return { allowed: true, now, items: states.map((s) => afterReserve(s, now)) };
      const index = refusedAt - 1;
      const state = states[index];
      if (!state) throw new Error('limit script: refused item out of range');
      return { allowed: false, now, items: states, refused: { ...state, index, retryAfterMs: nums[3 + index * 3] ?? 0 } };
    },

    async settle({ now, reservedAt = now, items }: SettleRequest): Promise<void> {
      const changed = items.filter((i) => i.delta !== 0);
      if (changed.length === 0) return;
      const keys: string[] = [];
      const args: (string | number)[] = [now, reservedAt];
      for (const item of changed) {
        const spec = windowSpec(item.window, reservedAt);
        keys.push(tagged(client, counterKey(item, spec), 'wl:lim'));
        const [mode, a, b] = specArgs(spec);
        args.push(mode, item.delta, a, b);
      }
      await settleScript.run(client, keys, args);
    },

    async close() {
      // The client is shared with the other stores; its owner quits it.
    },
  };
}

function specArgs(spec: WindowSpec): [string, number, number] {
  return spec.mode === 'sliding' ? ['s', spec.bucketMs, spec.buckets] : ['c', spec.endsAt, 0];
}
