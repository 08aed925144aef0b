import { describe, expect, test } from 'vitest';
import { barLabel, callCost, ms, percent, pretty, usd } from './format.ts';

describe('money', () => {
  test('small amounts keep the digits that matter; unknown prices never read as $0', () => {
    expect(usd(0.00015)).toBe('$0.000150');
    expect(usd(0.0421)).toBe('$0.0421');
    expect(usd(12.5)).toBe('$12.50');
    expect(usd(1234.4)).toBe('$1234');
    expect(usd(0)).toBe('$0');
    expect(usd(null)).toBe('unpriced');
  });

  test("a call's cost: unpriced when it used tokens of a model without a price, a dash when it used none", () => {
    expect(callCost({ cost_usd: null, priced: false, prompt_tokens: 10, completion_tokens: 5 })).toBe('unpriced');
    expect(callCost({ cost_usd: null, priced: false, prompt_tokens: 0, completion_tokens: 0 })).toBe('–');
    expect(callCost({ cost_usd: 0.0002, priced: true, prompt_tokens: 10, completion_tokens: 5 })).toBe('$0.000200');
  });
});

describe('other values', () => {
  test('durations, shares and chart labels', () => {
    expect(ms(null)).toBe('–');
    expect(ms(3.21)).toBe('3.2 ms');
    expect(ms(250.4)).toBe('250 ms');
    expect(ms(12_300)).toBe('12.3 s');
    expect(percent(1, 3)).toBe('33%');
    expect(percent(1, 200)).toBe('0.5%');
    expect(percent(1, 0)).toBe('–');
    expect(barLabel(Date.UTC(2026, 10, 26, 13, 30), 60_000)).toBe('11-26 13:30');
    expect(barLabel(Date.UTC(2026, 10, 26), 86_400_000)).toBe('2026-11-26');
  });

  test('JSON bodies are indented; anything else is shown as stored', () => {
    expect(pretty('{"a":[1,2]}')).toBe('{\n  "a": [\n    1,\n    2\n  ]\n}');
    expect(pretty('data: {"x":1}\n\n')).toBe('data: {"x":1}\n\n');
    expect(pretty('')).toBe('');
  });
});
