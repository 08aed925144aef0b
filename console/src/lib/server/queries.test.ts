import { describe, expect, test } from 'vitest';
import { chTime, fromChTime, parseFilters, parseRange, rangeWindow } from './queries.ts';

describe('ranges', () => {
  test('an unknown range falls back to 24h', () => {
    expect(parseRange('7d')).toBe('7d');
    expect(parseRange('1y')).toBe('24h');
    expect(parseRange('__proto__')).toBe('24h');
    expect(parseRange(null)).toBe('24h');
  });

  test('a window ends with the bar holding now and spans the whole range in whole bars', () => {
    const now = Date.UTC(2026, 10, 26, 13, 47, 12);
    const w = rangeWindow('24h', now);
    expect(w.stepMs).toBe(30 * 60_000);
    expect(new Date(w.to).toISOString()).toBe('2026-11-26T14:00:00.000Z');
    expect(w.to - w.from).toBe(24 * 3600_000);
    expect(rangeWindow('1h', now).stepMs).toBe(60_000);
    expect((rangeWindow('30d', now).to - rangeWindow('30d', now).from) / rangeWindow('30d', now).stepMs).toBe(30);
  });

  test('times go to and from the DateTime64 text form in UTC', () => {
    const t = Date.UTC(2026, 0, 2, 3, 4, 5, 6);
    expect(chTime(t)).toBe('2026-01-02 03:04:05.006');
    expect(fromChTime('2026-01-02 03:04:05.006')).toBe(t);
  });
});

describe('list filters', () => {
  test('taken from the query string; blanks, bad status codes and unknown names left out', () => {
    const f = parseFilters(new URLSearchParams('range=all&model=gpt-4o&user=&status_code=abc&outcome=errors&evil=1&q=%20hi%20'));
    expect(f).toEqual({ range: 'all', model: 'gpt-4o', outcome: 'errors', q: 'hi' });
    expect(parseFilters(new URLSearchParams('status_code=429')).status_code).toBe(429);
    expect(parseFilters(new URLSearchParams('status_code=4290')).status_code).toBeUndefined();
    expect(parseFilters(new URLSearchParams('')).range).toBe('24h');
    expect(parseFilters(new URLSearchParams(`q=${'x'.repeat(600)}`)).q).toHaveLength(500);
  });
});
