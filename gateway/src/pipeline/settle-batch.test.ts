import { describe, expect, test } from 'vitest';
import type { LimitStore, SettleRequest } from '../stores/index.ts';
import { SettleBatcher } from './settle-batch.ts';

function recordingStore(): { store: LimitStore; calls: SettleRequest[] } {
  const calls: SettleRequest[] = [];
  const store = {
    check: async () => {
      throw new Error('not used');
    },
    settle: async (r: SettleRequest) => void calls.push(r),
  } as unknown as LimitStore;
  return { store, calls };
}

const item = (id: string, delta: number) => ({ scope: 'key' as const, id, kind: 'tokens' as const, window: 'minute' as const, limit: 1000, delta });

describe('SettleBatcher', () => {
  test('settlements of the same second are sent once, deltas of the same limit added up', async () => {
    const { store, calls } = recordingStore();
    const b = new SettleBatcher(store, () => {});
    b.add(10_000, [item('a', 5), item('b', -2)]);
    b.add(10_400, [item('a', 7)]);
    b.add(11_000, [item('a', 1)]);
    await b.flush();
    expect(calls).toEqual([
      { now: expect.any(Number), reservedAt: 10_000, items: [item('a', 12), item('b', -2)] },
      { now: expect.any(Number), reservedAt: 11_000, items: [item('a', 1)] },
    ]);
  });

  test('deltas that cancel out send nothing', async () => {
    const { store, calls } = recordingStore();
    const b = new SettleBatcher(store, () => {});
    b.add(5_000, [item('a', 3)]);
    b.add(5_100, [item('a', -3)]);
    await b.flush();
    expect(calls).toEqual([]);
  });

  test('flushes by itself at the next turn of the event loop', async () => {
    const { store, calls } = recordingStore();
    const b = new SettleBatcher(store, () => {});
    b.add(1_000, [item('a', 1)]);
    await expect.poll(() => calls.length, { timeout: 1000 }).toBe(1);
  });

  test('the store call is issued synchronously by flush, so a check issued next is ordered after it', () => {
    const { store, calls } = recordingStore();
    const b = new SettleBatcher(store, () => {});
    b.add(1_000, [item('a', 2)]);
    void b.flush();
    expect(calls).toHaveLength(1);
  });

  test('a failing store is reported, not thrown', async () => {
    const errors: unknown[] = [];
    const store = { settle: async () => Promise.reject(new Error('redis down')) } as unknown as LimitStore;
    const b = new SettleBatcher(store, (e) => errors.push(e));
    b.add(1_000, [item('a', 1)]);
    await b.flush();
    expect(errors).toHaveLength(1);
  });
});
