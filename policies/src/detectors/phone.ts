import { digitsOf, hasDigit } from './scan.ts';
import type { Detector } from './types.ts';

/**
 * Phone numbers in three written forms:
 * - international: `+` then 8-15 digits (E.164, ITU-T E.164 §6.1 caps a number at 15 digits),
 *   optionally grouped by spaces, dots, dashes or a parenthesised area code or trunk `(0)`, in
 *   groups of up to 8 digits (a German or Dutch mobile subscriber number is one group):
 *   `+14155552671`, `+44 20 7946 0958`, `+1 (415) 555-2671`, `+33 6 12 34 56 78`,
 *   `+49 151 12345678`, `+31 6 12345678`, `+44 (0)20 7946 0958`; or with the international
 *   prefix `00` instead of `+` and at least one separator: `0044 20 7946 0958`;
 * - North American: `(415) 555-2671`, `415-555-2671`, `415.555.2671`, `415 555 2671` (spaced, both
 *   the area and exchange codes 2-9 as NANP numbers are), with the country code `1`:
 *   `1-800-555-0199`, `1 (800) 555-0199`;
 * - national with a trunk `0` and at least one separator: `020 7946 0958`, `06 12 34 56 78`,
 *   `030 12345678`, 9-11 digits.
 * A bare run of digits without `+` or separators is NOT a phone number here: it is far more often
 * an order id, a timestamp, a card or an account number, which have their own detectors. Numbers
 * glued to other digits or letters (part of a longer number, a version, a date) are skipped, and
 * so is a US ZIP+4 code (`02134-1234`).
 */
/** A US ZIP+4 code (`02134-1234`) has the shape of a national number with a trunk 0. */
const ZIP_PLUS_4 = /^\d{5}-\d{4}$/;

export const phone: Detector = {
  id: 'phone',
  label: 'PHONE',
  re: /(?<![\w+@/.-]|\d[ .-])(?:\+\d{1,15}(?:[ .-]?\(\d{1,4}\)[ .-]?\d{1,8})?(?:[ .-]\d{1,8}){0,6}|00[1-9]\d{0,2}(?:[ .-]?\(\d{1,4}\)[ .-]?\d{1,8})?(?:[ .-]\d{1,8}){1,6}|1([ .-])[2-9]\d{2}\1\d{3}\1\d{4}|1[ .-]?\(\d{3}\)[ .-]?\d{3}[ .-]\d{4}|\(\d{3}\)[ .-]?\d{3}[ .-]\d{4}|[2-9]\d{2}([.-])\d{3}\2\d{4}|[2-9]\d{2} [2-9]\d{2} \d{4}|0\d{1,4}(?:[ .-]\d{2,8}){1,4})(?![\w@]|[.-]?\d|[ ]\d)/g,
  mayContain: hasDigit,
  validate: (candidate) => {
    const n = digitsOf(candidate).length;
    if (candidate.startsWith('+')) return n >= 8 && n <= 15;
    if (candidate.startsWith('00')) return n >= 10 && n <= 17;
    return n >= 9 && n <= 11 && !ZIP_PLUS_4.test(candidate);
  },
};
