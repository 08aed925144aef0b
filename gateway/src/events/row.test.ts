import { describe, expect, test } from 'vitest';
import { exchangeFixture } from './fixtures.ts';
import { capBody, CLICKHOUSE_TIME_MAX_MS, CLICKHOUSE_TIME_MIN_MS, encodeRequestRow, REQUEST_COLUMNS, toClickHouseTime, toRow, type RequestRow } from './row.ts';

describe('toRow', () => {
  test('maps identity, usage, cost and timings of a successful call', () => {
    const row = toRow(exchangeFixture(5), { storeBodies: true });
    expect(row).toMatchObject({
      request_id: 'req_000005',
      ts: '2026-01-15 12:00:05.000',
      project: 'proj_a',
      key_id: 'key_1',
      key_fingerprint: 'fp_abcd',
      user: 'user_2',
      session: 'sess_1',
      properties: { env: 'dev' },
      provider: 'openai',
      model: 'gpt-4o-mini',
      status_code: 200,
      outcome: 'success',
      prompt_tokens: 15,
      completion_tokens: 10,
      usage_source: 'provider',
      priced: true,
      latency_ms: 101,
      ttft_ms: 51,
      upstream_ms: 99,
      finish_reason: 'stop',
    });
    expect(row.cost_usd).toBeCloseTo(15e-6 + 40e-6, 12);
  });

  test('stores an unknown-price call as unpriced: NULL cost, never $0', () => {
    const x = exchangeFixture(1);
    x.costUsd = null;
    const row = toRow(x, { storeBodies: true });
    expect(row.cost_usd).toBeNull();
    expect(row.priced).toBe(false);
  });

  test('a call that used no tokens cost 0 and counts as priced', () => {
    const x = exchangeFixture(1);
    x.response.usage = null;
    x.costUsd = null;
    x.outcome = 'denied_policy';
    x.response.status = 403;
    x.policies = { outcome: 'denied', matches: [{ rule: 'no-pii' }], stored: 'keep' };
    const row = toRow(x, { storeBodies: true });
    expect(row).toMatchObject({ cost_usd: 0, priced: true, outcome: 'denied_policy', status_code: 403 });
    expect(JSON.parse(row.policy_matches)).toEqual([{ rule: 'no-pii' }]);
  });

  test('drops both bodies when storage is off', () => {
    const row = toRow(exchangeFixture(1), { storeBodies: false });
    expect([row.request_body, row.response_body]).toEqual(['', '']);
  });

  test('caps bodies at maxBodyBytes with a marker naming the full size', () => {
    const x = exchangeFixture(1);
    x.response.body = 'é'.repeat(100); // 200 bytes
    const row = toRow(x, { storeBodies: true, maxBodyBytes: 10 });
    expect(row.response_body).toBe('ééééé…[truncated: 200 bytes]');
  });

  test.each([
    ['', 5, ''],
    ['short', 5, 'short'],
    ['abcdef', 5, 'abcde…[truncated: 6 bytes]'],
  ] as const)('capBody(%j, %i) keeps at most the byte budget', (text, max, out) => {
    expect(capBody(text, max)).toBe(out);
  });

  test('a client that disconnected mid-stream keeps what was streamed and its outcome', () => {
    const x = exchangeFixture(2);
    x.outcome = 'client_closed';
    x.request.stream = true;
    x.response.body = 'data: {"partial":true}';
    x.response.usageSource = 'estimate';
    const row = toRow(x, { storeBodies: true });
    expect(row).toMatchObject({ outcome: 'client_closed', stream: true, usage_source: 'estimate' });
    expect(row.response_body).toBe('data: {"partial":true}');
  });
});

describe('limits on the row', () => {
  test('the refusing limit and soft budget thresholds are stored as JSON; none is an empty string', () => {
    const x = exchangeFixture(1);
    x.limits = {
      decision: 'denied',
      refused: { scope: 'user', id: 'u1', kind: 'requests', window: 'minute' },
      softThreshold: [{ scope: 'project', id: 'acme', kind: 'usd', window: 'month', ratio: 0.85 }],
    };
    const row = toRow(x, { storeBodies: false });
    expect(JSON.parse(row.limit_refused)).toEqual({ scope: 'user', id: 'u1', kind: 'requests', window: 'minute' });
    expect(JSON.parse(row.budget_soft)).toEqual([{ scope: 'project', id: 'acme', kind: 'usd', window: 'month', ratio: 0.85 }]);
    expect(toRow(exchangeFixture(2), { storeBodies: false })).toMatchObject({ limit_refused: '', budget_soft: '' });
  });
});

describe('toClickHouseTime', () => {
  test.each([
    ['a time with milliseconds', Date.UTC(2026, 10, 26, 14, 5, 9, 7)],
    ['a whole second', Date.UTC(2026, 0, 1, 0, 0, 0, 0)],
    ['the last millisecond of a year', Date.UTC(2025, 11, 31, 23, 59, 59, 999)],
    ['before 1970', Date.UTC(1969, 11, 31, 23, 59, 59, 500)],
    ['a fractional millisecond (cut, not rounded)', Date.UTC(2026, 5, 1, 12, 0, 0, 41) + 0.9],
  ] as const)('is the UTC "YYYY-MM-DD HH:MM:SS.mmm" text of %s', (_name, ms) => {
    expect(toClickHouseTime(ms)).toBe(new Date(Math.floor(ms)).toISOString().replace('T', ' ').replace('Z', ''));
  });

  test('times within one second and across seconds in any order stay exact', () => {
    const base = Date.UTC(2026, 10, 26, 14, 5, 9, 0);
    for (const ms of [base + 999, base + 1000, base + 1, base - 1, base + 1000 + 250, base]) {
      expect(toClickHouseTime(ms)).toBe(new Date(ms).toISOString().replace('T', ' ').replace('Z', ''));
    }
  });

  test('covers the DateTime64(3) range to its last millisecond', () => {
    expect(toClickHouseTime(CLICKHOUSE_TIME_MIN_MS)).toBe('1900-01-01 00:00:00.000');
    expect(toClickHouseTime(CLICKHOUSE_TIME_MAX_MS)).toBe('2299-12-31 23:59:59.999');
  });

  test.each([
    ['year 10000, which toISOString writes +010000', Date.UTC(10000, 0, 1)],
    ['beyond what a Date holds', 9_000_000_000_000_000],
    ['after 2299', CLICKHOUSE_TIME_MAX_MS + 1],
    ['before 1900', CLICKHOUSE_TIME_MIN_MS - 1],
    ['NaN', Number.NaN],
  ] as const)('refuses a time ClickHouse cannot store: %s', (_name, ms) => {
    expect(() => toClickHouseTime(ms)).toThrow(RangeError);
  });

  test('a refused time leaves no trace: the same second is refused again, and valid times stay exact', () => {
    const valid = Date.UTC(2026, 10, 26, 14, 5, 9, 123);
    const huge = 9_000_000_000_000_000;
    expect(toClickHouseTime(valid)).toBe('2026-11-26 14:05:09.123');
    expect(() => toClickHouseTime(huge)).toThrow(RangeError);
    // Caching the second before formatting it answered the previous second's text here.
    expect(() => toClickHouseTime(huge + 1)).toThrow(RangeError);
    expect(toClickHouseTime(valid + 1)).toBe('2026-11-26 14:05:09.124');
  });
});

describe('encodeRequestRow', () => {
  test('writes every column at its place in REQUEST_COLUMNS', () => {
    // a row whose every value is different from every other, so a value in the wrong place shows
    const base = toRow(exchangeFixture(3), { storeBodies: true });
    const row = Object.fromEntries(
      REQUEST_COLUMNS.map((c, i) => {
        const v = base[c];
        const distinct = typeof v === 'number' ? 1000 + i : typeof v === 'boolean' ? i % 2 === 0 : Array.isArray(v) ? [c] : typeof v === 'object' && v !== null ? { [c]: c } : c;
        return [c, distinct];
      }),
    ) as unknown as RequestRow;
    expect(JSON.parse(encodeRequestRow(row))).toEqual(REQUEST_COLUMNS.map((c) => row[c]));
  });
});

