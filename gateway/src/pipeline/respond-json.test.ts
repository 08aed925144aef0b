import { expect, test } from 'vitest';
import { usdText } from './respond-json.ts';

test('usdText writes USD as plain decimals a script can parse, never in exponent form', () => {
  expect(usdText(0.00001234)).toBe('0.00001234');
  expect(usdText(1e-7)).toBe('0.0000001');
  expect(usdText(0)).toBe('0');
  expect(usdText(1.5)).toBe('1.5');
  expect(usdText(12)).toBe('12');
  // below a ten-billionth of a dollar: 0
  expect(usdText(4e-11)).toBe('0');
});
