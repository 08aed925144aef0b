import { describe, expect, test } from 'vitest';
import { found } from './found.test-helper.ts';
import { privateKey, scanPrivateKeys, type ScanWork } from './private-key.ts';

const B64 = 'MIIEvQIBADANBgkqhkiG9w0BAQEFAASCBKcwggSjAgEAAoIBAQC7VJTUt9Us8cKj';
const pem = (type: string): string =>
  `-----BEGIN ${type}-----\n${B64}\n${B64}\nAbCd==\n-----END ${type}-----`;

describe('private key detector', () => {
  test.each([
    ['a PKCS#8 block', 'PRIVATE KEY'],
    ['an RSA block', 'RSA PRIVATE KEY'],
    ['an EC block', 'EC PRIVATE KEY'],
    ['an OpenSSH block', 'OPENSSH PRIVATE KEY'],
    ['an encrypted block', 'ENCRYPTED PRIVATE KEY'],
  ] as const)('finds %s whole, END line included', (_title, type) => {
    const block = pem(type);
    expect(found(privateKey, `key:\n${block}\nthanks`)).toEqual([block]);
  });

  test('finds a truncated block through its base64 lines but not the prose after', () => {
    const head = `-----BEGIN RSA PRIVATE KEY-----\n${B64}\n${B64}`;
    expect(found(privateKey, `${head}\nwhy does this fail?`)).toEqual([head]);
  });

  test('finds a key pasted as a string with literal \\n escapes', () => {
    const head = `-----BEGIN PRIVATE KEY-----\\n${B64}\\n${B64}`;
    expect(found(privateKey, `key = "${head}"`)).toEqual([head]);
  });

  test.each([
    ['a public key', pem('PUBLIC KEY')],
    ['a certificate', pem('CERTIFICATE')],
    ['prose about private keys', 'never paste your PRIVATE KEY here'],
  ] as const)('ignores %s', (_title, text) => {
    expect(found(privateKey, text)).toEqual([]);
  });

  test('finds consecutive blocks, and a BEGIN line far from any END line as a header only', () => {
    const a = pem('PRIVATE KEY');
    const b = pem('EC PRIVATE KEY');
    expect(found(privateKey, `${a}\n\n${b}`)).toEqual([a, b]);
    const far = `-----BEGIN PRIVATE KEY----- ${'x '.repeat(9000)}-----END PRIVATE KEY-----`;
    expect(found(privateKey, far)).toEqual(['-----BEGIN PRIVATE KEY-----']);
    // a later BEGIN line pairs with the END line the earlier one was too far from
    const late = `-----BEGIN PRIVATE KEY----- ${'x '.repeat(9000)}${a}`;
    expect(found(privateKey, late)).toEqual(['-----BEGIN PRIVATE KEY-----', a]);
  });

  test('an END line of another type is not the end of the block', () => {
    const text = `-----BEGIN PRIVATE KEY-----\n${B64}\n-----END CERTIFICATE-----\n${B64}\n-----END PRIVATE KEY-----`;
    expect(found(privateKey, text)).toEqual([text]);
  });

  // Timing is not tested; the work is: the search for END lines reads each character at most
  // once, however many BEGIN lines there are (it read up to 16 KB ahead of every one of them).
  test.each([
    ['BEGIN lines only', '-----BEGIN PRIVATE KEY-----'.repeat(40_000)],
    ['BEGIN lines and END lines of another type', '-----BEGIN PRIVATE KEY-----\n-----END CERTIFICATE-----\n'.repeat(20_000)],
    ['BEGIN lines then one END line', `${'-----BEGIN RSA PRIVATE KEY-----'.repeat(30_000)}-----END RSA PRIVATE KEY-----`],
  ] as const)('scans 1 MB of %s in linear work', (_title, text) => {
    const work: ScanWork = { endSearched: 0 };
    let hits = 0;
    scanPrivateKeys(text, () => void hits++, work);
    expect(hits).toBeGreaterThan(0);
    expect(work.endSearched).toBeLessThanOrEqual(text.length);
  });
});
