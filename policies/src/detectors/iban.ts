import { hasDigit } from './scan.ts';
import type { Detector } from './types.ts';

/**
 * IBANs (ISO 13616): country code, two check digits, up to 30 alphanumerics, written compact or
 * in groups of four separated by single spaces. Valid only when the length is 15-34 and the
 * mod-97 check gives 1, so a typo'd or invented number is not reported.
 */
export const iban: Detector = {
  id: 'iban',
  label: 'IBAN',
  re: /(?<![\w])[A-Z]{2}\d{2}(?: ?[A-Z0-9]{4}){2,7}(?: ?[A-Z0-9]{1,3})?(?![\w])/g,
  mayContain: hasDigit,
  validate: (candidate) => ibanValid(candidate.replaceAll(' ', '')),
};

export function ibanValid(compact: string): boolean {
  if (compact.length < 15 || compact.length > 34) return false;
  // Move the first four characters to the end and read letters as 10..35, then mod 97,
  // folding digit by digit so no big integers are needed.
  const rearranged = compact.slice(4) + compact.slice(0, 4);
  let rem = 0;
  for (let i = 0; i < rearranged.length; i++) {
    const c = rearranged.charCodeAt(i);
    if (c >= 48 && c <= 57) rem = (rem * 10 + (c - 48)) % 97;
    else rem = (rem * 100 + (c - 55)) % 97;
  }
  return rem === 1;
}
