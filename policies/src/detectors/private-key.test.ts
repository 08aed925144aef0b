import { describe, expect, test } from 'vitest';
import { found } from './found.test-helper.ts';
import { privateKey } from './private-key.ts';

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
});
