import { describe, expect, test } from 'vitest';
import { generateKey, hashKey, isGatewayKey } from './material.ts';
import { parseBudgetFlag } from './record.ts';
import { createKeyBodySchema } from './types.ts';

describe('gateway key material', () => {
  test('keys are wl_ + 43 base62 characters, all different', () => {
    const keys = Array.from({ length: 200 }, generateKey);
    for (const k of keys) expect(k).toMatch(/^wl_[0-9A-Za-z]{43}$/);
    expect(new Set(keys).size).toBe(200);
  });

  test.each([
    ['sk-proj-abc', false],
    ['wl_short', false],
    [`wl_${'a'.repeat(43)}`, true],
    // keys declared in watchllm.yaml may use - and _
    [`wl_${'a'.repeat(42)}-`, true],
    ['wl_has space in it_0123456789', false],
    [`sk-${'a'.repeat(43)}`, false],
  ] as const)('isGatewayKey(%s) is %s', (value, expected) => {
    expect(isGatewayKey(value)).toBe(expected);
  });

  test('the stored hash is the sha256 hex of the key', () => {
    expect(hashKey('abc')).toBe('ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad');
  });
});

describe('createKeyBodySchema', () => {
  test('accepts the documented admin body', () => {
    const body = JSON.parse('{"project":"acme","name":"ci","limits":{"rpm":100,"tpm":50000},"budget":{"usd":50,"period":"month"}}');
    expect(createKeyBodySchema.parse(body)).toEqual({
      project: 'acme',
      name: 'ci',
      limits: { rpm: 100, tpm: 50000 },
      budget: { usd: 50, period: 'month' },
    });
  });

  test('names a key "default" when no name is given (CLI: keys create --project acme)', () => {
    expect(createKeyBodySchema.parse({ project: 'acme' })).toEqual({ project: 'acme', name: 'default' });
  });

  test.each([
    ['a missing project', { name: 'ci' }, 'project'],
    ['a typo in a field', { project: 'acme', limit: { rpm: 1 } }, 'limit'],
    ['an unknown limit', { project: 'acme', limits: { rph: 1 } }, 'rph'],
    ['a fractional rpm', { project: 'acme', limits: { rpm: 1.5 } }, 'rpm'],
    ['a zero budget', { project: 'acme', budget: { usd: 0, period: 'month' } }, 'usd'],
    ['a weekly budget', { project: 'acme', budget: { usd: 5, period: 'week' } }, 'period'],
  ] as const)('refuses %s, naming it', (_, body, name) => {
    const r = createKeyBodySchema.safeParse(body);
    expect(r.success).toBe(false);
    expect(JSON.stringify(r.error?.issues)).toContain(name);
  });
});

describe('parseBudgetFlag', () => {
  test.each([
    ['50/month', { usd: 50, period: 'month' }],
    ['$12.5/day', { usd: 12.5, period: 'day' }],
    ['100 / mo', { usd: 100, period: 'month' }],
    ['3/daily', { usd: 3, period: 'day' }],
  ] as const)('parses %s', (flag, budget) => {
    expect(parseBudgetFlag(flag)).toEqual(budget);
  });

  test.each(['50', 'month', '50/week', '-5/day', '0/month', 'abc/day'])('refuses %s with the expected form', (flag) => {
    expect(() => parseBudgetFlag(flag)).toThrow(/50\/month|more than 0/);
  });
});
