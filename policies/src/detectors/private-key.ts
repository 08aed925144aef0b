import type { Detector } from './types.ts';

/**
 * PEM private keys (RFC 7468 §10-11: `PRIVATE KEY`, `RSA PRIVATE KEY`, `EC PRIVATE KEY`,
 * `ENCRYPTED PRIVATE KEY`, `OPENSSH PRIVATE KEY`, …). The whole block is one match, up to its
 * END line. A truncated block (no END line, or a key pasted as a string with literal `\n`) is
 * still matched from the BEGIN line through the base64 lines that follow (runs of 16+ base64
 * characters; prose after the key is left alone). A block is capped at 16 KB (an RSA-8192 key is
 * ~6.5 KB) so a BEGIN line without an END cannot make a scan quadratic.
 */
export const privateKey: Detector = {
  id: 'private_key',
  label: 'PRIVATE_KEY',
  re: /-----BEGIN ([A-Z0-9]+ )*PRIVATE KEY( BLOCK)?-----(?:[\s\S]{0,16384}?-----END ([A-Z0-9]+ )*PRIVATE KEY( BLOCK)?-----|(?:(?:\s|\\[nr]){1,4}[A-Za-z0-9+/=]{16,})*)/g,
  mayContain: (text) => text.includes('-----BEGIN'),
};
