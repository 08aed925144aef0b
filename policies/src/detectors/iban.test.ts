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
    ['German, lower case, grouped', 'iban de89 3704 0044 0532 0130 00.', ['de89 3704 0044 0532 0130 00']],
    ['Dutch, lower case', 'nl91abna0417164300', ['nl91abna0417164300']],
    ['German, dashed', 'iban DE89-3704-0044-0532-0130-00.', ['DE89-3704-0044-0532-0130-00']],
    ['British, lower case, dashed', 'gb82-west-1234-5698-7654-32', ['gb82-west-1234-5698-7654-32']],
  ] as const)('finds %s', (_title, text, expected) => {
    expect(found(iban, text)).toEqual(expected);
  });

  test.each([
    ['a wrong check digit (mod-97 fails)', 'DE89370400440532013001'],
    ['an invented number', 'XX00 1234 5678 9012 3456'],
    ['too short', 'DE8937040044'],
    ['glued to a word', 'refDE89370400440532013000'],
    ['lower case with a wrong check digit', 'de89370400440532013001'],
    ['mixed case', 'De89370400440532013000'],
    // passes mod-97, but `ab` is no IBAN country: a lower-case id, not an account
    ['a lower-case id with a non-IBAN country code', 'ab28370400440532013000'],
    ['dashes and spaces mixed', 'DE89 3704-0044 0532-0130 00'],
    ['dashed, glued to more dashed groups', 'DE89-3704-0044-0532-0130-00-1234'],
  ] as const)('ignores %s', (_title, text) => {
    expect(found(iban, text)).toEqual([]);
  });
});
