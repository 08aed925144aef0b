import { describe, expect, test } from 'vitest';
import { budgetsOverThreshold, formatDuration, rateLimitHeaders, retryAfterSeconds } from './headers.ts';
import type { ItemState, LimitItem, LimitResult } from './types.ts';

const state = (item: Partial<LimitItem>, used: number, resetMs: number): ItemState => {
  const full: LimitItem = { scope: 'key', id: 'k', kind: 'requests', window: 'minute', limit: 10, cost: 1, ...item };
  return { item: full, used, remaining: Math.max(0, full.limit - used), resetMs };
};

describe('formatDuration', () => {
  test.each([
    [0, '0s'],
    [20, '20ms'],
    [999.6, '1s'],
    [1000, '1s'],
    [1500, '1.5s'],
    [59_500, '59.5s'],
    [360_000, '6m0s'],
    [61_250, '1m1.25s'],
    [7_384_000, '2h3m4s'],
    [-5, '0s'],
  ] as const)('formats %d ms like OpenAI as %s', (ms, text) => {
    expect(formatDuration(ms)).toBe(text);
  });
});

describe('rateLimitHeaders', () => {
  test('reports the limit of each kind with the least remaining', () => {
    const result: LimitResult = {
      allowed: true,
      now: 0,
      items: [
        state({ scope: 'project', limit: 1000 }, 10, 60_000),
        state({ scope: 'key', limit: 20 }, 15, 30_000),
        state({ kind: 'tokens', limit: 50_000 }, 1000, 6000),
        state({ kind: 'usd', window: 'month', limit: 50 }, 49, 1),
      ],
    };
    expect(rateLimitHeaders(result)).toEqual({
      'x-ratelimit-limit-requests': '20',
      'x-ratelimit-remaining-requests': '5',
      'x-ratelimit-reset-requests': '30s',
      'x-ratelimit-limit-tokens': '50000',
      'x-ratelimit-remaining-tokens': '49000',
      'x-ratelimit-reset-tokens': '6s',
    });
  });

  test('a refusal adds retry-after in whole seconds, rounded up', () => {
    const refused = state({ kind: 'tokens', limit: 100 }, 90, 1000);
    const result: LimitResult = { allowed: false, now: 0, items: [refused], refused: { ...refused, index: 0, retryAfterMs: 1200 } };
    expect(rateLimitHeaders(result)).toMatchObject({ 'retry-after': '2', 'x-ratelimit-remaining-tokens': '10' });
  });

  test('a result without limits (or degraded) sends no rate-limit headers', () => {
    expect(rateLimitHeaders({ allowed: true, now: 0, items: [], degraded: true })).toEqual({});
  });

  test.each([
    [1, 1],
    [999, 1],
    [1000, 1],
    [1001, 2],
    [59_000, 59],
  ] as const)('retry-after for %d ms is %d s', (ms, s) => {
    expect(retryAfterSeconds(ms)).toBe(s);
  });
});

describe('budgetsOverThreshold', () => {
  test('flags only usd items at or past the ratio before this call, never for its own reservation', () => {
    const result: LimitResult = {
      allowed: true,
      now: 0,
      // used includes the call's reservation (cost 1): 8 before it, 7.9 before it
      items: [state({ kind: 'usd', limit: 10 }, 9, 1), state({ kind: 'usd', id: 'u', limit: 10 }, 8.9, 1), state({ limit: 10 }, 9, 1)],
    };
    expect(budgetsOverThreshold(result).map((s) => s.item.id)).toEqual(['k']);
    expect(budgetsOverThreshold(result, 0.5).map((s) => s.item.id)).toEqual(['k', 'u']);
    // one worst-case reservation taking an unspent budget to 90% is not a spent budget
    expect(budgetsOverThreshold({ allowed: true, now: 0, items: [state({ kind: 'usd', limit: 10, cost: 9 }, 9, 1)] })).toEqual([]);
  });
});
