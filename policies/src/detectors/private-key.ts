import type { Detector } from './types.ts';

/** A BEGIN line of a private key; what a scan looks for first. */
const BEGIN = /-----BEGIN (?:[A-Z0-9]+ )*PRIVATE KEY(?: BLOCK)?-----/g;
/** An END line of a private key, tried only where `-----END` occurs. */
const END = /-----END (?:[A-Z0-9]+ )*PRIVATE KEY(?: BLOCK)?-----/y;
/** The base64 lines of a truncated block (no END line, or literal `\n` escapes). */
const BODY = /(?:(?:\s|\\[nr]){1,4}[A-Za-z0-9+/=]{16,})*/y;
/** The longest block, BEGIN line to END line (an RSA-8192 key is ~6.5 KB). */
const MAX_BLOCK = 16384;

/** Characters a scan has searched for END lines (tests: the work is linear in the text). */
export interface ScanWork {
  endSearched: number;
}

/**
 * Finds each block: a BEGIN line, then the first END line after it (within MAX_BLOCK), else the
 * base64 lines that follow. The search for END lines only ever moves forward: the next END line
 * found is remembered and serves every BEGIN line before it, so text with many BEGIN lines and
 * few or no END lines is still read once (a regex with a bounded lazy gap, its former form,
 * read up to 16 KB ahead from every BEGIN line: quadratic in the number of them).
 */
export function scanPrivateKeys(text: string, push: (start: number, end: number) => void, work?: ScanWork): void {
  /** The first END line at or after the last search's start: its start and end; -1 when none is left, -2 before any search. */
  let endStart = -2;
  let endEnd = -1;
  /** No END line starts in [searchFrom, endStart) (or anywhere from searchFrom when endStart is -1). */
  let searchFrom = 0;
  BEGIN.lastIndex = 0;
  for (let m = BEGIN.exec(text); m !== null; m = BEGIN.exec(text)) {
    const header = m.index + m[0].length;
    if (endStart !== -1 && endStart < header) {
      // find the first END line at or after `header`, from where the last search stopped
      let at = Math.max(header, searchFrom);
      endStart = -1;
      for (;;) {
        const next = text.indexOf('-----END', at);
        if (work !== undefined) work.endSearched += (next === -1 ? text.length : next) - at;
        if (next === -1) {
          searchFrom = text.length;
          break;
        }
        END.lastIndex = next;
        if (END.test(text)) {
          endStart = next;
          endEnd = END.lastIndex;
          searchFrom = next + 1;
          break;
        }
        at = next + 1;
      }
    }
    let end: number;
    if (endStart !== -1 && endStart - header <= MAX_BLOCK) {
      end = endEnd;
    } else {
      BODY.lastIndex = header;
      BODY.test(text);
      end = BODY.lastIndex;
    }
    push(m.index, end);
    BEGIN.lastIndex = end;
  }
  BEGIN.lastIndex = 0;
}

/**
 * PEM private keys (RFC 7468 §10-11: `PRIVATE KEY`, `RSA PRIVATE KEY`, `EC PRIVATE KEY`,
 * `ENCRYPTED PRIVATE KEY`, `OPENSSH PRIVATE KEY`, …). The whole block is one match, up to its
 * END line. A truncated block (no END line, or a key pasted as a string with literal `\n`) is
 * still matched from the BEGIN line through the base64 lines that follow (runs of 16+ base64
 * characters; prose after the key is left alone). A block is capped at 16 KB, so a BEGIN line
 * does not swallow the text up to an unrelated END line far away. The scan is linear in the text
 * whatever it holds (see scanPrivateKeys).
 */
export const privateKey: Detector = {
  id: 'private_key',
  label: 'PRIVATE_KEY',
  re: BEGIN,
  mayContain: (text) => text.includes('-----BEGIN'),
  scan: scanPrivateKeys,
};
