import { createCipheriv, createDecipheriv, randomBytes, scryptSync } from 'node:crypto';

/** Encrypts provider credentials at rest. */
export interface SecretBox {
  /** `aad` binds the ciphertext to its place (key id + provider) so it cannot be moved to another. */
  encrypt(plain: string, aad?: string): string;
  /** Throws `SecretBoxError` when the ciphertext was altered, moved, or made under another secret. */
  decrypt(ciphertext: string, aad?: string): string;
}

export class SecretBoxError extends Error {
  override readonly name = 'SecretBoxError';
}

const VERSION = 'v1';
const SALT = 'watchllm:provider-keys:v1';

/**
 * AES-256-GCM (NIST SP 800-38D: 96-bit random IV, 128-bit tag) under a key derived from
 * `WATCHLLM_SECRET` with scrypt (N=2^15, r=8, p=1; RFC 7914). scrypt rather than HKDF because the
 * secret is operator-chosen and may be a passphrase, not 32 random bytes; the 0.1-0.4 s it costs
 * is paid once at start. The salt is fixed: there is one derived key per deployment, and every
 * replica must derive the same one. Ciphertext: `v1:<iv>:<tag>:<data>`, each base64url.
 */
export function createSecretBox(secret: string): SecretBox {
  if (secret.length === 0) throw new SecretBoxError('WATCHLLM_SECRET is empty');
  const key = scryptSync(secret, SALT, 32, { N: 2 ** 15, r: 8, p: 1, maxmem: 64 * 1024 * 1024 });
  return {
    encrypt(plain, aad = '') {
      const iv = randomBytes(12);
      const cipher = createCipheriv('aes-256-gcm', key, iv);
      cipher.setAAD(Buffer.from(aad));
      const data = Buffer.concat([cipher.update(plain, 'utf8'), cipher.final()]);
      const tag = cipher.getAuthTag();
      return [VERSION, iv.toString('base64url'), tag.toString('base64url'), data.toString('base64url')].join(':');
    },
    decrypt(ciphertext, aad = '') {
      const parts = ciphertext.split(':');
      const [version, iv, tag, data] = parts;
      if (parts.length !== 4 || version !== VERSION || iv === undefined || tag === undefined || data === undefined) {
        throw new SecretBoxError('not a v1 ciphertext');
      }
      const tagBuf = Buffer.from(tag, 'base64url');
      if (tagBuf.length !== 16) throw new SecretBoxError('bad authentication tag length');
      try {
        const decipher = createDecipheriv('aes-256-gcm', key, Buffer.from(iv, 'base64url'));
        decipher.setAAD(Buffer.from(aad));
        decipher.setAuthTag(tagBuf);
        return Buffer.concat([decipher.update(Buffer.from(data, 'base64url')), decipher.final()]).toString('utf8');
      } catch {
        throw new SecretBoxError('provider credential failed authentication (tampered, moved, or another WATCHLLM_SECRET)');
      }
    },
  };
}
