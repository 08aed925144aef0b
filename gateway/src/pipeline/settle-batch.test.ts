import { describe, expect, test, vi } from 'vitest';
import { SettleNotSentError } from '../stores/errors.ts';
import type { LimitStore, SettleRequest } from '../stores/index.ts';
import { HELD_RETRY_MS, MAX_HELD_ITEMS, SettleBatcher } from './settle-batch.ts';

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

describe('SettleBatcher with a store that cannot be reached', () => {
  /** A store that refuses unsent (Redis down) until `up` is set, then records. */
  function flakyStore() {
    const state = { up: false, calls: [] as SettleRequest[], attempts: 0 };
    const store = {
      settle: async (r: SettleRequest) => {
        state.attempts++;
        if (!state.up) throw new SettleNotSentError(new Error("Stream isn't writeable and enableOfflineQueue options is false"));
        state.calls.push(r);
      },
    } as unknown as LimitStore;
    return { store, state };
  }

  test('holds what was refused unsent and sends it, summed, once the store takes it again', async () => {
    vi.useFakeTimers({ toFake: ['setTimeout', 'clearTimeout'] });
    try {
      const { store, state } = flakyStore();
      const errors: unknown[] = [];
      const b = new SettleBatcher(store, (e) => errors.push(e));
      b.add(10_000, [item('a', 210)]);
      await b.flush();
      b.add(10_500, [item('a', 5), item('b', 1)]);
      await b.flush();
      expect(state.calls).toEqual([]);
      await vi.advanceTimersByTimeAsync(HELD_RETRY_MS);
      // still down: tried again, held again
      expect(state.attempts).toBe(3);
      state.up = true;
      await vi.advanceTimersByTimeAsync(HELD_RETRY_MS);
      await b.flush();
      expect(state.calls).toEqual([{ now: expect.any(Number), reservedAt: 10_000, items: [item('a', 215), item('b', 1)] }]);
      expect(errors).toEqual([]);
      // nothing left to send
      await vi.advanceTimersByTimeAsync(HELD_RETRY_MS * 3);
      expect(state.calls).toHaveLength(1);
    } finally {
      vi.useRealTimers();
    }
  });

  test('holds at most MAX_HELD_ITEMS limits, and says what it dropped', async () => {
    const { store, state } = flakyStore();
    const errors: unknown[] = [];
    const b = new SettleBatcher(store, (e) => errors.push(e));
    b.add(1_000, Array.from({ length: MAX_HELD_ITEMS + 5 }, (_, i) => item(`k${i}`, 1)));
    await b.flush();
    expect(errors).toHaveLength(1);
    expect(String((errors[0] as Error).message)).toContain('5 limit settlements dropped');
    b.close();
    state.up = true;
    await b.flush();
    expect(state.calls).toEqual([]);
  });

  test('a failure that may have reached the store is reported, never sent twice', async () => {
    const errors: unknown[] = [];
    let attempts = 0;
    const store = { settle: async () => { attempts++; throw new Error('Command timed out'); } } as unknown as LimitStore;
    const b = new SettleBatcher(store, (e) => errors.push(e));
    b.add(1_000, [item('a', 1)]);
    await b.flush();
    await new Promise((r) => setTimeout(r, HELD_RETRY_MS + 200));
    expect([attempts, errors.length]).toEqual([1, 1]);
  });
});
