import { describe, expect, test } from 'vitest';
import { compactRows } from './writer.ts';

describe('compactRows', () => {
  test('turns rows with the same keys into arrays in one column order', () => {
    expect(compactRows([{ a: 1, b: 'x' }, { b: 'y', a: 2 }])).toEqual({ columns: ['a', 'b'], rows: [[1, 'x'], [2, 'y']] });
  });

  test.each([
    ['a row with a missing key', [{ a: 1, b: 2 }, { a: 1 }]],
    ['a row with another key', [{ a: 1, b: 2 }, { a: 1, c: 2 }]],
    ['no rows', []],
  ] as const)('falls back (null) for %s', (_name, values) => {
    expect(compactRows(values as unknown as object[])).toBeNull();
  });
});
