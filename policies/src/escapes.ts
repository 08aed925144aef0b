/**
 * Text that is itself JSON (tool-call `arguments`, a JSON-mode answer, a stored body) carries its
 * line breaks, tabs and quotes as escapes: `{"content":"# env\nsk-proj-…"}`. Read as it is, the
 * escape's letter glues onto what follows (`nsk-proj-…`, `t4111…`) and hides it from the detectors'
 * word-boundary checks, and `\u0040` hides an `@`. So content is also scanned in a decoded view,
 * whose hits are mapped back to whole escape sequences of the original: a replacement never cuts
 * an escape in two, and JSON text stays valid JSON.
 */

/** The decoded text, and how to map its offsets back to the original. */
export class DecodedView {
  /**
   * `at[k]`: where the k-th decoded escape is in `text`; `shift[k]`: how many characters longer
   * the original is than `text` after it. Escapes are sparse, so this beats a map per character.
   */
  constructor(
    readonly text: string,
    private readonly at: readonly number[],
    private readonly shift: readonly number[],
  ) {}

  /** The offset in the original where decoded offset `i` starts (`text.length` maps to its end). */
  from(i: number): number {
    // binary search: the number of escapes before i
    let lo = 0;
    let hi = this.at.length;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if ((this.at[mid] as number) < i) lo = mid + 1;
      else hi = mid;
    }
    return lo === 0 ? i : i + (this.shift[lo - 1] as number);
  }
}

/**
 * Decodes backslash escapes, or returns null when `raw` has none (the common case, one indexOf).
 * A whole run of backslashes before an escape letter counts as one escape: JSON inside JSON (a
 * tool call's arguments in a stored body) doubles them (`\\n`), and a newline is a newline at any
 * depth. A backslash before anything else (`C:\Users`, `\"`, a truncated `\u00`) is kept as it is.
 */
export function decodeEscapes(raw: string): DecodedView | null {
  let b = raw.indexOf('\\');
  if (b === -1) return null;
  // Built by concatenation: V8 makes it a rope, flattened once by the first scan; far cheaper
  // than collecting slices for join() when escapes are dense (code in a tool call).
  let text = '';
  const at: number[] = [];
  const shift: number[] = [];
  let copied = 0; // raw text before this is in `text`
  let length = 0; // decoded length so far
  let extra = 0;
  while (b !== -1) {
    let letter = b + 1;
    while (raw.charCodeAt(letter) === 92) letter++;
    const c = escapeAt(raw, letter);
    if (c === -1) {
      // Not an escape: the backslashes stay as they are.
      b = raw.indexOf('\\', letter);
      continue;
    }
    const end = letter + (raw.charCodeAt(letter) === 117 ? 5 : 1);
    text += raw.slice(copied, b) + String.fromCharCode(c);
    length += b - copied;
    at.push(length);
    length += 1;
    extra += end - b - 1;
    shift.push(extra);
    copied = end;
    b = raw.indexOf('\\', end);
  }
  if (at.length === 0) return null;
  return new DecodedView(text + raw.slice(copied), at, shift);
}

/**
 * The character code an escape letter at `i` stands for (`n`, `/`, `u0040`), or -1. `\"` is left
 * as it is: the quote and the backslash are both non-word characters to every detector, so it
 * hides nothing, and it is the most frequent escape in code: leaving it keeps decoding cheap.
 */
function escapeAt(raw: string, i: number): number {
  switch (raw.charCodeAt(i)) {
    case 110: return 10; // n
    case 116: return 9; // t
    case 114: return 13; // r
    case 98: return 8; // b
    case 102: return 12; // f
    case 47: return 47; // /
    case 117: { // u + 4 hex digits
      const v = hex(raw.charCodeAt(i + 1)) * 4096 + hex(raw.charCodeAt(i + 2)) * 256 + hex(raw.charCodeAt(i + 3)) * 16 + hex(raw.charCodeAt(i + 4));
      return v >= 0 ? v : -1;
    }
    default: return -1;
  }
}

/** A hex digit's value, or a large negative number (so any sum with it stays negative). */
function hex(c: number): number {
  if (c >= 48 && c <= 57) return c - 48;
  if (c >= 65 && c <= 70) return c - 55;
  if (c >= 97 && c <= 102) return c - 87;
  return -1e6;
}

/**
 * Decoded views of the texts of one call, so each text is decoded once however many policies
 * scan it. Texts without a backslash never reach the map.
 */
export class EscapeViews {
  readonly #views = new Map<string, DecodedView | null>();

  of(text: string): DecodedView | null {
    if (text.indexOf('\\') === -1) return null;
    let v = this.#views.get(text);
    if (v === undefined) this.#views.set(text, (v = decodeEscapes(text)));
    return v;
  }
}

/**
 * Moves a cut at `at` back to the start of the escape it falls inside (`…\` | `n…`, `…\u00` |
 * `40…`), so text split there for scanning or sending never separates an escape's letter from
 * its backslash.
 */
export function escapeSafeCut(text: string, at: number): number {
  for (let j = at - 1; j >= 0 && j >= at - 6; j--) {
    if (text.charCodeAt(j) !== 92) continue;
    // j is the last backslash before the cut; the escape letter follows the run it ends.
    const letter = j + 1;
    if (letter < at && !(text[letter] === 'u' && at <= letter + 4)) return at;
    let start = j;
    while (start > 0 && text.charCodeAt(start - 1) === 92) start--;
    return start;
  }
  return at;
}

/**
 * True when a word ends just before `at`: after a space, tab or line break, or after the escape
 * of one in JSON text (`\n`, `\t`, `\r`). What the stream scanner and filters split text on.
 */
export function breaksBefore(text: string, at: number): boolean {
  const c = text.charCodeAt(at - 1);
  if (c === 32 || c === 10 || c === 9 || c === 13) return true;
  // n, t, r after a backslash
  return (c === 110 || c === 116 || c === 114) && text.charCodeAt(at - 2) === 92;
}
