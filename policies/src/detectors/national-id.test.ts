import { describe, expect, test } from 'vitest';
import { found } from './found.test-helper.ts';
import { nationalId } from './national-id.ts';

describe('national id detector', () => {
  test.each([
    ['US SSN with dashes', 'ssn 123-45-6789.', ['123-45-6789']],
    ['US SSN with spaces', 'ssn 123 45 6789', ['123 45 6789']],
    ['Spanish DNI', 'DNI 12345678Z', ['12345678Z']],
    ['Spanish DNI with dash', 'DNI 12345678-Z', ['12345678-Z']],
    ['Spanish NIE', 'NIE X1234567L', ['X1234567L']],
    ['French NIR, spaced', 'nir 1 85 05 78 006 084 91', ['1 85 05 78 006 084 91']],
    ['French NIR, compact', '185057800608491', ['185057800608491']],
    ['French NIR, Corsica', '2 90 03 2A 004 123 20', ['2 90 03 2A 004 123 20']],
  ] as const)('finds %s', (_title, text, expected) => {
    expect(found(nationalId, text)).toEqual(expected);
  });

  test.each([
    ['an SSN with area 000', '000-12-3456'],
    ['an SSN with area 666', '666-12-3456'],
    ['an SSN with area 9xx', '900-12-3456'],
    ['an SSN with group 00', '123-00-4567'],
    ['an SSN with serial 0000', '123-45-0000'],
    ['an SSN with mixed separators', '123-45 6789'],
    ['a bare 9-digit run', '123456789'],
    ['a DNI with the wrong letter', '12345678A'],
    ['a NIR with the wrong key', '1 85 05 78 006 084 36'],
    ['a longer dashed number', '123-45-6789-0'],
  ] as const)('ignores %s', (_title, text) => {
    expect(found(nationalId, text)).toEqual([]);
  });
});
