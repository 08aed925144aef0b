import { describe, expect, test } from 'vitest';
import { chTime, parseFilters, parseRange, rangeWindow } from './queries.ts';

describe('ranges', () => {
  test('an unknown range falls back to 24h', () => {
    expect(parseRange('7d')).toBe('7d');
    expect(parseRange('1y')).toBe('24h');
    expect(parseRange('__proto__')).toBe('24h');
    expect(parseRange(null)).toBe('24h');
  });

  test('a window is whole bars from the one holding now - range to the one holding now: the whole range, never less', () => {
    const now = Date.UTC(2026, 10, 26, 13, 47, 12);
    const w = rangeWindow('24h', now);
    expect(w.stepMs).toBe(30 * 60_000);
    expect(new Date(w.to).toISOString()).toBe('2026-11-26T14:00:00.000Z');
    expect(new Date(w.from).toISOString()).toBe('2026-11-25T13:30:00.000Z');
    expect(w.from).toBeLessThanOrEqual(now - 24 * 3600_000);
    expect(rangeWindow('1h', now).stepMs).toBe(60_000);
    // 30 days ending 2026-11-26 13:47 start on 10-27 13:47: the bar of 10-27 is in
    const month = rangeWindow('30d', now);
    expect(new Date(month.from).toISOString()).toBe('2026-10-27T00:00:00.000Z');
    expect((month.to - month.from) / month.stepMs).toBe(31);
    // on a bar's edge, no extra bar
    const edge = rangeWindow('24h', Date.UTC(2026, 10, 26, 14, 0, 0));
    expect((edge.to - edge.from) / edge.stepMs).toBe(49);
  });

  test('times go to and from the DateTime64 text form in UTC', () => {
    const t = Date.UTC(2026, 0, 2, 3, 4, 5, 6);
    expect(chTime(t)).toBe('2026-01-02 03:04:05.006');
    // and reads back as the same instant in UTC
    expect(Date.parse(`${chTime(t).replace(' ', 'T')}Z`)).toBe(t);
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

  test('(none) filters on the empty value; a blank input is no filter', () => {
    expect(parseFilters(new URLSearchParams('model=(none)&project=&provider=%20')).model).toBe('');
    expect(parseFilters(new URLSearchParams('model=(none)&project=')).project).toBeUndefined();
    expect(parseFilters(new URLSearchParams('q=(none)')).q).toBeUndefined();
  });

  test('range=since takes its start from `from`; any other range ignores it', () => {
    expect(parseFilters(new URLSearchParams('range=since&from=1764115200000'))).toMatchObject({ range: 'all', from: 1764115200000 });
    expect(parseFilters(new URLSearchParams('range=1h&from=1764115200000')).from).toBeUndefined();
    expect(parseFilters(new URLSearchParams('range=since&from=nope'))).toEqual({ range: '24h' });
  });

  test.each([
    // past what a Date holds: chTime threw "Invalid time value" and the page answered 500
    '9007199254740991',
    // past what the event store holds (DateTime64(3): years 1900 to 2299)
    '99999999999999',
    String(Date.UTC(2300, 0, 1)),
    // not decimal digits: Number() read these as 0, 16 and 1000
    '',
    '%20',
    '0x10',
    '1e3',
    '-1',
  ])('range=since with an unusable from=%s is left out, like any unusable filter', (from) => {
    const f = parseFilters(new URLSearchParams(`range=since&from=${from}`));
    expect(f).toEqual({ range: '24h' });
  });

  test('the last millisecond the event store holds is a usable from', () => {
    const last = Date.UTC(2300, 0, 1) - 1;
    expect(parseFilters(new URLSearchParams(`range=since&from=${last}`))).toEqual({ range: 'all', from: last });
    expect(chTime(last)).toBe('2299-12-31 23:59:59.999');
  });

  test.each(['1e2', '0x1F4', '%20', '-0', '200.0'])('a status_code that is not plain decimal digits (%s) is left out', (v) => {
    expect(parseFilters(new URLSearchParams(`status_code=${v}`)).status_code).toBeUndefined();
  });
});
