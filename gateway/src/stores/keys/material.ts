import { createHash, randomBytes } from 'node:crypto';

const BASE62 = '0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz';
export const KEY_PREFIX = 'wl_';
/** Ids of the keys declared in watchllm.yaml (seed-keys.ts); created keys have other ids. */
export const DECLARED_KEY_PREFIX = 'cfg_';
/** 32 random bytes in base62 need 43 characters (62^43 > 2^256). */
const KEY_CHARS = 43;
/**
 * What a lookup accepts before hashing: generated keys are 43 base62 characters, but keys declared in
 * watchllm.yaml may be any URL-safe string of at least 16 characters after the prefix.
 */
const KEY_PATTERN = /^wl_[0-9A-Za-z_-]{16,200}$/;

/**
 * Base62 rather than base64url: the key stays one "word" (double-click selects it whole, no `-`
 * or `_` to trip shell or URL handling), the way GitHub and Stripe tokens look.
 */
function base62(bytes: Buffer, chars: number): string {
  let n = BigInt(`0x${bytes.toString('hex') || '0'}`);
  let out = '';
  while (n > 0n) {
    out = BASE62[Number(n % 62n)] + out;
    n /= 62n;
  }
  return out.padStart(chars, '0');
}

/** A new gateway key: `wl_` + 32 random bytes in base62. */
export function generateKey(): string {
  return KEY_PREFIX + base62(randomBytes(32), KEY_CHARS);
}

export function isGatewayKey(value: string): boolean {
  return KEY_PATTERN.test(value);
}

/** sha256 hex: keys are 256-bit random, so a fast unsalted hash is enough (no dictionary to attack). */
export function hashKey(key: string): string {
  return createHash('sha256').update(key).digest('hex');
}

/** A key id (public, shown in listings and events): `key_` + 96 random bits in base62. */
export function newKeyId(): string {
  return `key_${base62(randomBytes(12), 17)}`;
}
