import { describe, expect, test } from 'vitest';
import { found } from './found.test-helper.ts';
import { iban } from './iban.ts';

describe('IBAN detector', () => {
  test.each([
    ['German, compact', 'pay DE89370400440532013000 now', ['DE89370400440532013000']],
    ['German, grouped', 'DE89 3704 0044 0532 0130 00', ['DE89 3704 0044 0532 0130 00']],
    ['British with letters', 'GB82 WEST 1234 5698 7654 32.', ['GB82 WEST 1234 5698 7654 32']],
    ['French with a letter inside', 'FR1420041010050500013M02606', ['FR1420041010050500013M02606']],
    ['Dutch', 'NL91ABNA0417164300', ['NL91ABNA0417164300']],
  ] as const)('finds %s', (_title, text, expected) => {
    expect(found(iban, text)).toEqual(expected);
  });

  test.each([
    ['a wrong check digit (mod-97 fails)', 'DE89370400440532013001'],
    ['an invented number', 'XX00 1234 5678 9012 3456'],
    ['too short', 'DE8937040044'],
    ['glued to a word', 'refDE89370400440532013000'],
  ] as const)('ignores %s', (_title, text) => {
    expect(found(iban, text)).toEqual([]);
  });
});
