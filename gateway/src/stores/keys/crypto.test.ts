import { describe, expect, test } from 'vitest';
import { createSecretBox, SecretBoxError } from './crypto.ts';

const box = createSecretBox('correct horse battery staple');

describe('SecretBox', () => {
  test('round-trips a provider key through a v1 base64url ciphertext', () => {
    const ct = box.encrypt('sk-proj-abc123', 'key_1:openai');
    expect(ct).toMatch(/^v1:[\w-]{16}:[\w-]{22}:[\w-]+$/);
    expect(ct).not.toContain('sk-proj');
    expect(box.decrypt(ct, 'key_1:openai')).toBe('sk-proj-abc123');
  });

  test('encrypting twice gives different ciphertexts (fresh IV)', () => {
    expect(box.encrypt('same')).not.toBe(box.encrypt('same'));
  });

  test('another process with the same secret decrypts (every replica derives the same key)', () => {
    expect(createSecretBox('correct horse battery staple').decrypt(box.encrypt('sk-x'))).toBe('sk-x');
  });

  const flip = (s: string): string => (s[0] === 'A' ? `B${s.slice(1)}` : `A${s.slice(1)}`);
  test.each([
    ['altered data', (ct: string) => ct.split(':').map((p, i) => (i === 3 ? flip(p) : p)).join(':')],
    ['altered tag', (ct: string) => ct.split(':').map((p, i) => (i === 2 ? flip(p) : p)).join(':')],
    ['altered iv', (ct: string) => ct.split(':').map((p, i) => (i === 1 ? flip(p) : p)).join(':')],
    ['an unknown version', (ct: string) => ct.replace(/^v1/, 'v2')],
    ['a truncated value', (ct: string) => ct.split(':').slice(0, 3).join(':')],
  ] as const)('refuses %s', (_, tamper) => {
    const ct = box.encrypt('sk-proj-abc123', 'key_1:openai');
    expect(() => box.decrypt(tamper(ct), 'key_1:openai')).toThrow(SecretBoxError);
  });

  test('refuses a ciphertext moved to another key or provider (AAD)', () => {
    const ct = box.encrypt('sk-proj-abc123', 'key_1:openai');
    expect(() => box.decrypt(ct, 'key_2:openai')).toThrow(SecretBoxError);
    expect(() => box.decrypt(ct, 'key_1:anthropic')).toThrow(SecretBoxError);
  });

  test('refuses a ciphertext made under another WATCHLLM_SECRET', () => {
    expect(() => createSecretBox('other').decrypt(box.encrypt('sk-x'))).toThrow(/another WATCHLLM_SECRET/);
  });

  test('refuses an empty secret', () => {
    expect(() => createSecretBox('')).toThrow(SecretBoxError);
  });
});
