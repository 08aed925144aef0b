import { describe, expect, test } from 'vitest';
import { SignInThrottle, throttleKey } from './sign-in-throttle.ts';

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
});

describe('throttleKey', () => {
  test.each([
    ['203.0.113.7', '203.0.113.7'],
    ['::ffff:203.0.113.7', '203.0.113.7'],
    ['2001:db8:1:2:aaaa:bbbb:cccc:dddd', '2001:db8:1:2::/64'],
    ['2001:0db8:0001:0002::1', '2001:db8:1:2::/64'],
    ['2001:db8::1', '2001:db8:0:0::/64'],
    ['fe80::1%eth0', 'fe80:0:0:0::/64'],
    ['::1', '0:0:0:0::/64'],
    ['0:0:0:0:0:ffff:198.51.100.77', '198.51.100.77'],
    ['::FFFF:c633:644d', '198.51.100.77'],
    ['[2001:db8:1:2::5]:443', '2001:db8:1:2::/64'],
    ['[2001:db8:1:2::5]', '2001:db8:1:2::/64'],
    ['198.51.100.77:5555', '198.51.100.77'],
  ] as const)('counts %s under %s', (address, key) => {
    expect(throttleKey(address)).toBe(key);
  });

  test('two addresses of one IPv6 /64 share a count', () => {
    const t = new SignInThrottle({ maxFailures: 2 });
    t.failed('2001:db8:1:2::a', 0);
    t.failed('2001:db8:1:2::b', 0);
    expect(t.waitMs('2001:db8:1:2::c', 1)).toBeGreaterThan(0);
    expect(t.waitMs('2001:db8:1:3::a', 1)).toBe(0);
  });
});
