import { describe, expect, test } from 'vitest';
import { retryAfterSeconds, SignInThrottle } from './sign-in-throttle.ts';

describe('SignInThrottle', () => {
  test('refuses an address after maxFailures wrong tokens, until the window of its first failure ends', () => {
    const t = new SignInThrottle({ maxFailures: 3, windowMs: 60_000 });
    t.failed('a', 1_000);
    t.failed('a', 2_000);
    expect(t.waitMs('a', 2_000)).toBe(0);
    t.failed('a', 3_000);
    expect(t.waitMs('a', 3_000)).toBe(58_000);
    expect(t.waitMs('a', 60_999)).toBe(1);
    expect(t.waitMs('a', 61_000)).toBe(0);
    // a new window: one more failure does not refuse it again
    t.failed('a', 61_000);
    expect(t.waitMs('a', 61_000)).toBe(0);
  });

  test('counts each address apart', () => {
    const t = new SignInThrottle({ maxFailures: 2 });
    t.failed('a', 0);
    t.failed('a', 0);
    expect(t.waitMs('a', 1)).toBeGreaterThan(0);
    expect(t.waitMs('b', 1)).toBe(0);
  });

  test('a right token clears the count', () => {
    const t = new SignInThrottle({ maxFailures: 2 });
    t.failed('a', 0);
    t.succeeded('a');
    t.failed('a', 1);
    expect(t.waitMs('a', 2)).toBe(0);
  });

  test('holds at most maxAddresses addresses, the oldest window dropped first', () => {
    const t = new SignInThrottle({ maxFailures: 1, maxAddresses: 2 });
    t.failed('a', 0);
    t.failed('b', 0);
    t.failed('c', 0);
    expect([t.waitMs('a', 1), t.waitMs('b', 1) > 0, t.waitMs('c', 1) > 0]).toEqual([0, true, true]);
  });

  test.each([
    [1, 1],
    [999, 1],
    [1_000, 1],
    [1_001, 2],
    [59_000, 59],
  ] as const)('tells a wait of %i ms as %i s', (ms, s) => {
    expect(retryAfterSeconds(ms)).toBe(s);
  });
});
