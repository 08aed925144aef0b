import { describe, expect, test } from 'vitest';
import { creditCard, luhn } from './card.ts';
import { found } from './found.test-helper.ts';

describe('credit card detector', () => {
  test.each([
    ['Visa, compact', 'card 4111111111111111 ok', ['4111111111111111']],
    ['Visa, spaced', 'card 4111 1111 1111 1111.', ['4111 1111 1111 1111']],
    ['Visa, dashed', '4111-1111-1111-1111', ['4111-1111-1111-1111']],
    ['Mastercard', '5555555555554444', ['5555555555554444']],
    ['Mastercard 2-series', '2223003122003222', ['2223003122003222']],
    ['Amex, 15 digits', '3782 822463 10005', ['3782 822463 10005']],
    ['Discover', '6011111111111117', ['6011111111111117']],
    ['Visa, dotted', 'card 4111.1111.1111.1111.', ['4111.1111.1111.1111']],
    ['Visa, double-spaced', 'card 4111  1111  1111  1111 ok', ['4111  1111  1111  1111']],
    ['Visa, no-break spaces', 'card 4111\u00a01111\u00a01111\u00a01111 ok', ['4111\u00a01111\u00a01111\u00a01111']],
    ['Amex, dotted', '3782.822463.10005', ['3782.822463.10005']],
  ] as const)('finds %s', (_title, text, expected) => {
    expect(found(creditCard, text)).toEqual(expected);
  });

  test.each([
    ['a Luhn-invalid 16-digit number', 'ref 4111111111111112'],
    ['a Luhn-valid number with a non-card first digit', 'id 1234567812345670'],
    ['a millisecond timestamp', 'at 1700000000000'],
    ['mixed separators', '4111 1111-1111 1111'],
    ['a 20-digit run containing a valid card', '41111111111111111111'],
    ['a card-like run glued to letters', 'tok4111111111111111x'],
    ['an E.164 phone number', '+4915112345678'],
    ['dots and spaces mixed', '4111.1111 1111.1111'],
    ['dotted in groups no card has', '4.1111111.11111.11'],
    ['three spaces between groups', '4111   1111   1111   1111'],
  ] as const)('ignores %s', (_title, text) => {
    expect(found(creditCard, text)).toEqual([]);
  });

  test('luhn accepts the checksum digit and rejects any other', () => {
    expect(luhn('79927398713')).toBe(true);
    expect(luhn('79927398710')).toBe(false);
  });
});
