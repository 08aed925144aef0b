import { hasDigit } from './scan.ts';
import type { Detector } from './types.ts';

/**
 * National identity numbers, in formats whose shape or check digit makes false positives rare:
 * - US Social Security Number, written `123-45-6789` or `123 45 6789` (SSA rules: area not 000,
 *   666 or 9xx; group not 00; serial not 0000). A bare 9-digit run is not reported: too many ids
 *   and amounts look like that.
 * - Spain: DNI `12345678Z` and NIE `X1234567L` (optionally with a dash before the letter), valid
 *   only when the control letter matches (mod 23, Real Decreto 1553/2005).
 * - France: NIR (numéro de sécurité sociale), 15 digits `1 85 05 78 006 084 36`, compact or
 *   spaced, valid only when the 2-digit key equals 97 - (first 13 digits mod 97), with Corsica's
 *   2A/2B read as 19/18.
 */
export const nationalId: Detector = {
  id: 'national_id',
  label: 'NATIONAL_ID',
  re: /(?<![\w-])(?:(?!000|666|9\d\d)\d{3}([- ])(?!00)\d{2}\1(?!0000)\d{4}|\d{8}-?[A-Z]|[XYZ]-?\d{7}-?[A-Z]|[12] ?\d{2} ?(?:0[1-9]|1[0-2]|[2-9]\d) ?(?:\d{2}|2[AB]) ?\d{3} ?\d{3} ?\d{2})(?![\w]|-\d)/g,
  mayContain: hasDigit,
  validate: (candidate) => {
    const c = compact(candidate);
    const last = c.charCodeAt(c.length - 1);
    if (last >= 65 && last <= 90) return spanishValid(c);
    if (c.length === 15) return nirValid(c);
    return c.length === 9; // SSN: the regex already applied the SSA ranges
  },
};

function compact(s: string): string {
  let out = '';
  for (const ch of s) if (ch !== ' ' && ch !== '-') out += ch;
  return out;
}

const DNI_LETTERS = 'TRWAGMYFPDXBNJZSQVHLCKE';

function spanishValid(c: string): boolean {
  // NIE: X/Y/Z stand for 0/1/2 in front of the 7 digits.
  const first = c[0];
  const lead = first === 'X' ? '0' : first === 'Y' ? '1' : first === 'Z' ? '2' : first;
  const n = Number((lead ?? '') + c.slice(1, -1));
  return Number.isInteger(n) && DNI_LETTERS[n % 23] === c[c.length - 1];
}

function nirValid(c: string): boolean {
  // Corsica: department 2A/2B, read as 19/18 for the key (INSEE).
  const body = c.slice(0, 13).replace('2A', '19').replace('2B', '18');
  let rem = 0;
  for (let i = 0; i < body.length; i++) {
    const d = body.charCodeAt(i) - 48;
    if (d < 0 || d > 9) return false;
    rem = (rem * 10 + d) % 97;
  }
  return 97 - rem === Number(c.slice(13));
}
