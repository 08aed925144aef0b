import { digitsOf, hasDigit } from './scan.ts';
import type { Detector } from './types.ts';

/**
 * Payment card numbers: 13-19 digits (ISO/IEC 7812), optionally grouped by spaces (one or two),
 * no-break spaces, dashes or dots, starting with a digit used by the card networks (2-6: Mastercard 2-series, Amex/Diners
 * 3, Visa 4, Mastercard 5, Discover/UnionPay 6), and passing the Luhn check. A Luhn-invalid
 * number (most order ids, timestamps, phone numbers) is not a card.
 */
export const creditCard: Detector = {
  id: 'credit_card',
  label: 'CREDIT_CARD',
  re: /(?<![\w.+-])[2-6]\d(?:(?: {1,2}|[.\u00a0\u202f-])?\d){11,17}(?![\w]|(?: {1,2}|[.\u00a0\u202f-])\d)/g,
  mayContain: hasDigit,
  validate: (candidate) => {
    const d = digitsOf(candidate);
    return d.length >= 13 && d.length <= 19 && consistentSeparators(candidate) && luhn(d);
  },
};

/**
 * `4111 1111-1111 1111` mixes separators: real cards are written with one kind, or none. Dotted,
 * they are in the groups printed on cards (`4111.1111.1111.1111`, Amex `3782.822463.10005`), which
 * a version or an address with dots (`4.12.1234.5678.901`) is not.
 */
function consistentSeparators(s: string): boolean {
  let sep = '';
  for (let i = 0; i < s.length; i++) {
    const c = s[i]!;
    if (c >= '0' && c <= '9') continue;
    if (sep === '') sep = c;
    else if (c !== sep) return false;
  }
  return sep !== '.' || DOTTED.test(s);
}
const DOTTED = /^(?:\d{4}(?:\.\d{4}){2,3}(?:\.\d{1,3})?|\d{4}\.\d{6}\.\d{4,5})$/;

/** Luhn mod-10 (ISO/IEC 7812-1 annex B). */
export function luhn(digits: string): boolean {
  let sum = 0;
  let double = false;
  for (let i = digits.length - 1; i >= 0; i--) {
    let n = digits.charCodeAt(i) - 48;
    if (double) {
      n *= 2;
      if (n > 9) n -= 9;
    }
    sum += n;
    double = !double;
  }
  return sum % 10 === 0;
}
