import type { CompiledPolicy, CompiledPolicySet } from './compile.ts';
import { applyHits, findHits, Placeholders } from './redact.ts';
import { breaksBefore, escapeSafeCut, EscapeViews } from './escapes.ts';
import { AWS_SECRET_LABEL } from './detectors/api-key.ts';
import { isSpace } from './detectors/scan.ts';
import { selects, treatsAnswers } from './select.ts';
import type { CallContext } from './types.ts';

/**
 * The longest run of digit groups held back before the word in progress: a spaced IBAN (34
 * characters and 8 spaces) is the longest built-in shape written in groups.
 */
const MAX_GROUPS = 48;
/**
 * A word without spaces longer than this is let out but for its last KEEP characters, unless it
 * may still become a token a detector matches (a JWT in progress): that is held while it is at most
 * MAX_TOKEN long (as far back as the stream scanner follows an open token, scanner.ts).
 */
const MAX_WORD = 256;
const KEEP = 64;
const MAX_TOKEN = 8192;
/** How long a match that reaches the end of the text may hold the stream (a PEM block). */
const MAX_PENDING = 20_000;
/** Held text longer than this is rescanned every RESCAN new characters only. */
const LONG_HELD = 1024;
const RESCAN = 256;

/** One text of a stream (an OpenAI choice, an Anthropic text block): text in, text safe to send out. */
export interface StreamTextFilter {
  /** Adds text from the provider; returns what may be sent now (possibly ''), redacted. */
  push(text: string): string;
  /** The text is complete: returns everything still held, redacted. */
  end(): string;
}

/** The filters of one streamed answer; placeholders are shared by all its texts. */
export interface StreamFilters {
  /** The filter of text `key` (a choice index, a content block index), made on first use. */
  text(key: number): StreamTextFilter;
  /** True when at least one `redact` policy rewrites the text (deny policies only hold it back). */
  readonly redacts: boolean;
  /** The keys of the texts made so far, in order of first use. */
  keys(): number[];
}

/**
 * Text already sent cannot be taken back, so in a stream an enforced post-response `redact` or
 * `deny` policy needs the gateway to hold back whatever could still become a match:
 * - the word in progress (e-mail addresses, keys and tokens have no spaces; a word longer than
 *   MAX_WORD only while it may still become a JWT, up to MAX_TOKEN), and the groups of a number
 *   just before it when it may continue them (`4111 1111 1111 11`, `+44 20 7946 09`,
 *   `GB82 WEST 12`, `gb82 west 12`);
 * - a PEM block, from its BEGIN line until its END line;
 * - a match that reaches the end of the text so far, as it may still grow (a PEM block, up to
 *   MAX_PENDING characters).
 * Everything before is let out, with the matches of `redact` policies replaced by placeholders
 * (`[EMAIL_1]`, the same value the same placeholder, numbered on from the request's when the call's
 * `placeholders` are given). A `deny` match is never let out: the stream
 * scanner (scanner.ts) sees the text first and the gateway ends the stream instead.
 *
 * A custom pattern that spans several words can still leave in part before it completes; the
 * built-in detectors cannot. Returns null when no such policy applies to the call: the stream then
 * passes untouched.
 */
export function createStreamFilters(
  set: CompiledPolicySet,
  ctx: CallContext,
  placeholders: Placeholders = new Placeholders(),
): StreamFilters | null {
  // A post-stage policy always has content rules (compile.ts), so these all scan text.
  const live = set.policies.filter((p) => treatsAnswers(p) && selects(p, ctx));
  if (live.length === 0) return null;
  const redactors = live.filter((p) => p.action === 'redact');
  const scanners = live.flatMap((p) => p.content);
  const filters = new Map<number, StreamTextFilter>();
  return {
    redacts: redactors.length > 0,
    keys: () => [...filters.keys()],
    text(key) {
      let f = filters.get(key);
      if (!f) filters.set(key, (f = textFilter(scanners, redactors, placeholders)));
      return f;
    },
  };
}

function textFilter(
  scanners: CompiledPolicy['content'],
  redactors: readonly CompiledPolicy[],
  placeholders: Placeholders,
): StreamTextFilter {
  let held = '';
  /** Characters added since the held text was last scanned. */
  let unscanned = 0;
  const release = (upTo: number): string => {
    // never between the halves of a surrogate pair (an emoji): each half alone is no character, and
    // a client printing the delta gets U+FFFD (or, in Python, an encoding error)
    if (upTo > 0 && upTo < held.length && isHighSurrogate(held.charCodeAt(upTo - 1)) && isLowSurrogate(held.charCodeAt(upTo))) upTo--;
    let out = held.slice(0, upTo);
    held = held.slice(upTo);
    const views = new EscapeViews();
    for (const p of redactors) out = applyHits(out, findHits(p.content, out, views), placeholders);
    return out;
  };
  return {
    push(text) {
      if (text.length === 0) return '';
      held += text;
      unscanned += text.length;
      // A long held text (a PEM block on its way) is rescanned every RESCAN characters, not per
      // token: holding a little longer is safe, and the work stays linear in the answer.
      if (held.length > LONG_HELD && unscanned < RESCAN) return '';
      unscanned = 0;
      let at = holdFrom(held);
      for (const h of findHits(scanners, held)) {
        // never split a match; one reaching the end may still grow
        if (h.end > at || h.end === held.length) {
          at = Math.min(at, labelStart(held, h.start));
          break;
        }
      }
      if (held.length - at > MAX_PENDING) at = escapeSafeCut(held, held.length - MAX_PENDING);
      return at > 0 ? release(at) : '';
    },
    end() {
      return release(held.length);
    },
  };
}

const PEM_END = /-----END [A-Z0-9 ]*-----/;
/**
 * The end of a text that an AWS secret access key may still follow (the `awsSecretKey` detector):
 * its label, whole or begun, spaced or not, then what may come between it and the value (`"SecretAccessKey": "`,
 * `aws_secret_access_key = `) and a value not yet complete. Released on its own, the label would
 * leave the value alone, which matches nothing.
 */
const AWS_LABEL_TAIL = new RegExp(
  `(?<![A-Za-z0-9])${begun('secret', `[_ .-]?(?:${begun('access', `[_ .-]?(?:${begun('key', `["']?\\s*(?:[:=]>?\\s*["']?[A-Za-z0-9/+]{0,40})?`)})?`)})?`)}$`,
  'i',
);
/** `word` begun (`a`, `ac`, … `access`), and when whole, optionally followed by `then`. */
function begun(word: string, then: string): string {
  let src = `(?:${then})?`;
  for (let i = word.length - 1; i >= 0; i--) src = i === word.length - 1 ? `${word[i]}${src}` : `${word[i]}(?:${src})?`;
  return src;
}

/** A label just before an AWS secret key's value: the value matches only with it. */
const AWS_LABEL_BEFORE = new RegExp(`(?<![A-Za-z0-9])${AWS_SECRET_LABEL}$`, 'i');

/** Where a hit starting at `start` must be held from: its label when it is a labelled value, so the two leave together. */
function labelStart(text: string, start: number): number {
  const m = AWS_LABEL_BEFORE.exec(text.slice(Math.max(0, start - AWS_LABEL_REACH), start));
  return m === null ? start : start - m[0].length;
}

/** How far back the label is looked for: `secret_access_key" : "` and the 40 characters of the value (complete, it still needs its label to match). */
const AWS_LABEL_REACH = 96;
const GROUP_OPENING = /^[+(]+$/;
/**
 * The end of a text that an IBAN written in groups may still complete (the `iban` detector): its
 * country code and check digits, then groups of four, the last one begun. Covers lower case, which
 * the digit groups before the word in progress do not: `west` is a group only in an IBAN.
 */
const IBAN_TAIL = /(?<![\w])[A-Za-z]{2}\d{2}(?: ?[A-Za-z0-9]{4}){0,7}(?: ?[A-Za-z0-9]{0,4})?$/;
/** How far back an IBAN in progress is looked for: 34 characters and 8 spaces, and one before for the lookbehind. */
const IBAN_REACH = 48;

/**
 * Where the text that could still become part of a match starts. Words end at spaces and line
 * breaks, and at their escapes in JSON text (`{"a":"x\nsk-…`): the word in progress starts after
 * the escape, and text is never cut inside one.
 */
export function holdFrom(text: string): number {
  let at = text.length;
  while (at > 0 && !breaksBefore(text, at)) at--;
  // A PEM block is held from its BEGIN line to the end of its END line: its header is words, its body lines.
  const begin = text.lastIndexOf('-----BEGIN');
  if (begin !== -1 && !PEM_END.test(text.slice(begin))) return Math.max(begin, text.length - MAX_PENDING);
  if (text.length - at > MAX_WORD) {
    const token = openJwt(text, at, Math.max(at, text.length - MAX_TOKEN));
    return escapeSafeCut(text, token !== -1 && token < text.length - KEEP ? token : text.length - KEEP);
  }
  const label = AWS_LABEL_TAIL.exec(text.slice(Math.max(0, text.length - AWS_LABEL_REACH)));
  if (label !== null) at = Math.min(at, text.length - label[0].length);
  // An IBAN begun, in any case (`gb82 west 12`: lower-case groups are no groups otherwise, prose is).
  const ibanTail = IBAN_TAIL.exec(text.slice(Math.max(0, text.length - IBAN_REACH)));
  if (ibanTail !== null) at = Math.min(at, text.length - ibanTail[0].length);
  // The word in progress may continue groups before it only if it is empty or could be a group
  // (or the `+` / `(` that opens one).
  if (at < text.length && !isGroup(text, at, text.length) && !GROUP_OPENING.test(text.slice(at))) return at;
  const floor = Math.max(0, at - MAX_GROUPS);
  let groups = at;
  while (groups > floor && isSpace(text.charCodeAt(groups - 1))) {
    // Groups are apart by a space, or two (`4111  1111  1111  1111`).
    const end = groups > 1 && isSpace(text.charCodeAt(groups - 2)) ? groups - 2 : groups - 1;
    // A group is the tail of its word that a number can be made of: in `{"iban":"DE89 3704` it is
    // `DE89`, however long the key before it; the run of groups ends there.
    let start = end;
    while (start > 0 && !breaksBefore(text, start) && groupChar(text.charCodeAt(start - 1))) start--;
    if (start === end || start < floor || !isGroup(text, start, end)) break;
    groups = start;
  }
  return groups;
}

/** Base64url and the dot: what a JSON Web Token is made of. */
function jwtChar(c: number): boolean {
  return (c >= 48 && c <= 57) || (c >= 65 && c <= 90) || (c >= 97 && c <= 122) || c === 95 || c === 45 || c === 46;
}

/**
 * A JSON Web Token in progress at the end of `text` (the `api_key` detector's `eyJ….eyJ….sig`):
 * the run of its characters ending the text, from a start at or after `from` (in the word that
 * starts at `wordStart`, after a space or an escape) where a token may begin (`eyJ`, after no base64url character), with at most its two dots so far and its second
 * segment begun like one (`eyJ`). Returns where it starts, or -1.
 */
function openJwt(text: string, wordStart: number, from: number): number {
  let run = text.length;
  while (run > from && jwtChar(text.charCodeAt(run - 1))) run--;
  // A run cut by the bound may not start a token there: it would be longer than the bound.
  const runStarts = run === 0 || run === wordStart || !jwtChar(text.charCodeAt(run - 1)) || text.charCodeAt(run - 1) === 46;
  // A token starts at the run's start or right after a dot, and has at most two dots: the
  // candidates are after each of the last three dots, or the run's start when it has fewer.
  const starts: number[] = [];
  for (let i = text.length - 1; i >= run && starts.length < 3; i--) if (text.charCodeAt(i) === 46) starts.push(i + 1);
  if (starts.length < 3 && runStarts) starts.push(run);
  for (let k = starts.length - 1; k >= 0; k--) if (JWT_OPEN.test(text.slice(starts[k]!))) return starts[k]!;
  return -1;
}
/** The shape of a JWT begun: header, then a payload begun with `eyJ`, then a signature begun. */
const JWT_OPEN = /^eyJ[\w-]*(?:\.(?:e|ey|eyJ[\w-]*(?:\.[\w-]*)?)?)?$/;

/** Letters, digits and what numbers are written with: `+ ( ) . -`. */
function groupChar(c: number): boolean {
  return (c >= 48 && c <= 57) || (c >= 65 && c <= 90) || (c >= 97 && c <= 122) || c === 43 || c === 40 || c === 41 || c === 46 || c === 45;
}

/**
 * A group of a number written in groups: it has a digit (`4111`, `(415)`, `2A`), or is up to four
 * capitals and digits (an IBAN's `WEST`). Prose words end a run.
 */
function isGroup(text: string, from: number, to: number): boolean {
  let upper = to - from <= 4;
  for (let i = from; i < to; i++) {
    const c = text.charCodeAt(i);
    if (c >= 48 && c <= 57) return true;
    if (c < 65 || c > 90) upper = false;
  }
  return upper;
}

function isHighSurrogate(c: number): boolean {
  return c >= 0xd800 && c <= 0xdbff;
}

function isLowSurrogate(c: number): boolean {
  return c >= 0xdc00 && c <= 0xdfff;
}
