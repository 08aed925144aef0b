import { describe, expect, test } from 'vitest';
import { found } from './found.test-helper.ts';
import { phone } from './phone.ts';

describe('phone detector', () => {
  test.each([
    ['E.164 compact', 'call +14155552671.', ['+14155552671']],
    ['E.164 grouped (UK)', 'tel +44 20 7946 0958', ['+44 20 7946 0958']],
    ['E.164 with area code in parentheses', '+1 (415) 555-2671', ['+1 (415) 555-2671']],
    ['E.164 grouped in pairs (FR)', '+33 6 12 34 56 78', ['+33 6 12 34 56 78']],
    ['North American with parentheses', 'office (415) 555-2671', ['(415) 555-2671']],
    ['North American dashed', '415-555-2671', ['415-555-2671']],
    ['North American dotted', '415.555.2671', ['415.555.2671']],
    ['UK national', '020 7946 0958', ['020 7946 0958']],
    ['French national', '06 12 34 56 78', ['06 12 34 56 78']],
    ['German national', '030 12345678', ['030 12345678']],
    ['German mobile, subscriber number in one group', 'call +49 151 12345678.', ['+49 151 12345678']],
    ['Dutch mobile', '+31 6 12345678', ['+31 6 12345678']],
    ['UK with the trunk 0 in parentheses', 'tel +44 (0)20 7946 0958', ['+44 (0)20 7946 0958']],
    ['North American spaced', 'call 415 555 2671 now', ['415 555 2671']],
    ['North American with the country code', 'call 1-800-555-0199.', ['1-800-555-0199']],
    ['North American with the country code and parentheses', '1 (800) 555-0199', ['1 (800) 555-0199']],
    ['international with the 00 prefix', 'tel 0044 20 7946 0958', ['0044 20 7946 0958']],
  ] as const)('finds %s', (_title, text, expected) => {
    expect(found(phone, text)).toEqual(expected);
  });

  test.each([
    ['a bare 10-digit run', 'order 4155552671'],
    ['a bare run with a leading zero', 'ref 0123456789'],
    ['a card number', '4111111111111111'],
    ['a grouped card number', '4111 1111 1111 1111'],
    ['an ISO date', 'on 2024-01-15'],
    ['a European date', 'on 05.01.2024'],
    ['an IPv4 address', '192.168.100.200'],
    ['a US SSN', '123-45-6789'],
    ['a too-short international number', '+1234'],
    ['an IBAN', 'DE89 3704 0044 0532 0130 00'],
    ['a US ZIP+4 code', 'Boston, MA 02134-1234'],
    ['a spaced run with a 1 exchange code', 'ids 415 155 2671'],
    ['00 and too few digits', 'ref 0044 1234'],
  ] as const)('ignores %s', (_title, text) => {
    expect(found(phone, text)).toEqual([]);
  });
});
