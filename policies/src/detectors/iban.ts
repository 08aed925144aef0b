import { hasDigit } from './scan.ts';
import type { Detector } from './types.ts';

/**
 * IBANs (ISO 13616): country code, two check digits, up to 30 alphanumerics, written compact or
 * in groups of four separated by single spaces or dashes (one kind). Valid only when the length is 15-34 and the
 * mod-97 check gives 1, so a typo'd or invented number is not reported.
 *
 * Written in lower case too (`de89 3704 0044 0532 0130 00`), but then only with the country code
 * of an IBAN country: lower-case hex ids and hashes have IBAN lengths, and one in 97 passes
 * mod-97. Mixed case (`De89…`, random tokens) is not an IBAN.
 */
export const iban: Detector = {
  id: 'iban',
  label: 'IBAN',
  re: /(?<![\w])[A-Za-z]{2}\d{2}(?:[ -]?[A-Za-z0-9]{4}){2,7}(?:[ -]?[A-Za-z0-9]{1,3})?(?![\w]|-[A-Za-z0-9])/g,
  mayContain: hasDigit,
  validate: (candidate) => {
    // one kind of separator: `DE89 3704-0044 …` is no IBAN as written
    if (candidate.includes(' ') && candidate.includes('-')) return false;
    const compact = candidate.replaceAll(' ', '').replaceAll('-', '');
    if (!HAS_LOWER.test(compact)) return ibanValid(compact);
    return !HAS_UPPER.test(compact) && COUNTRIES.has(compact.slice(0, 2)) && ibanValid(compact.toUpperCase());
  },
};

const HAS_LOWER = /[a-z]/;
const HAS_UPPER = /[A-Z]/;

/** Countries of the IBAN registry (SWIFT), lower case: what a lower-case IBAN may start with. */
const COUNTRIES = new Set(
  ('ad ae al at az ba be bg bh bi br by ch cr cy cz de dj dk do ee eg es fi fk fo fr gb ge gi gl gr gt hr hu ie ' +
    'il iq is it jo kw kz lb lc li lt lu lv ly mc md me mk mn mr mt mu ni nl no om pk pl ps pt qa ro rs ru sa sc sd ' +
    'se si sk sm so st sv tl tn tr ua va vg xk ye').split(' '),
);

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
