import { describe, expect, test } from 'vitest';
import { creditCard } from './card.ts';
import { found } from './found.test-helper.ts';
import { iban } from './iban.ts';
import { DETECTORS } from './index.ts';
import { nationalId } from './national-id.ts';
import { phone } from './phone.ts';

/** Numbers that are none of the number detectors' classes (`1.2.3.4` is an IPv4 address as written, so only the others are asked). */
describe('number look-alikes are not reported', () => {
  const LOOKALIKES = [
    ['an ISO date', 'due 2026-11-27.'],
    ['a European date', 'due 27.11.2026.'],
    ['a US date', 'due 11/27/2026.'],
    ['a dotted version', 'version 1.2.3.4 is out'],
    ['a Windows build', 'build v10.0.19045 and 10.0.19045.3693'],
    ['an order number', 'order ORD-2024-000123 shipped'],
    ['an invoice number', 'invoice INV-2026-11-000456'],
    ['times', 'at 12:30:45, or 14:05, or 09:15:00.123'],
    ['prices', 'costs $1,234.56, € 1.299,00, USD 2,499.00 or 1 234 567,89 EUR'],
    ['a timestamp', '2026-11-27T06:05:57.123Z'],
    ['a ZIP+4 code', 'Boston, MA 02134-1234'],
  ] as const;
  test.each(LOOKALIKES)('%s', (_title, text) => {
    expect(found([phone, creditCard, iban, nationalId], text)).toEqual([]);
  });

  test('the whole built-in set keeps them too, but for the IPv4-shaped version', () => {
    const all = Object.values(DETECTORS).flat();
    for (const [title, text] of LOOKALIKES) {
      const hits = found(all, text);
      expect(hits, title).toEqual(title === 'a dotted version' ? ['1.2.3.4'] : []);
    }
  });
});
