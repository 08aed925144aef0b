import type { CompiledPolicy, CompiledPolicySet } from './compile.ts';
import { breaksBefore, escapeSafeCut, EscapeViews } from './escapes.ts';
import { denyReason } from './evaluate.ts';
import { findHits, HitCounts } from './redact.ts';
import { selects } from './select.ts';
import type { CallContext, RuleMatch } from './types.ts';

/**
 * What a scan reads. Each check scans the new text plus a bounded reach back before it: KEEP
 * characters, moved back to the start of the word there (multi-word shapes such as
 * `+44 20 7946 0958` or a spaced IBAN are shorter), at most SHORT. Longer matches are found
 * through what points at their start: a match that reached the end of the text at the last scan
 * (it may still grow: `sk-…`, an e-mail, a PEM block), and a JSON Web Token in progress (`eyJ…`,
 * which matches only once its third segment has begun), each at most TAIL back. So the work per
 * check is the new text plus a bounded overlap, not the last kilobyte again on every token.
 */
const KEEP = 64;
const SHORT = 128;
const TAIL = 8192;
/** New text accumulated before a scan: scanning every token would rescan the overlap per token. */
const STEP = 64;
/** How long a match that touches the buffer end may keep the buffer growing (a PEM block). */
const MAX_PENDING = 20_000;
/** A match that may still grow is rescanned when the new text reaches this share of its length. */
const PENDING_SHARE = 4;
/** The longest lookbehind of a built-in detector: a hit starting this close to a scan's arbitrary start is not trusted. */
const LOOKBEHIND = 3;

export interface ScanStep {
  /** True once an enforced `deny` policy matched: stop forwarding and end the stream cleanly. */
  cut: boolean;
  policy?: string;
  reason?: string;
}

export interface ScanResult extends ScanStep {
  /** One entry per policy, rule and detector, counted over the whole stream. */
  matches: RuleMatch[];
}

export interface ResponseScanner {
  /** Adds text; scans every STEP characters (scanning per token would rescan the tail per token). */
  push(textDelta: string): ScanStep;
  /**
   * Scans the text pushed so far now, whatever its length: call it before forwarding what was pushed,
   * so a match is caught before it leaves, even one that may still grow. (Holding back text that
   * does not match yet, such as the first half of an e-mail address, is the stream filters' work.)
   */
  check(): ScanStep;
  /** Scans what is left and reports every match of the stream. */
  finish(): ScanResult;
}

interface PolicyState {
  p: CompiledPolicy;
  counts: HitCounts;
  /** Absolute offset up to which hits are counted; a hit starting before it was seen already. */
  countedTo: number;
  /** Absolute start of a hit that reached the end of the text when last read (it may still grow), or -1. */
  pendingAt: number;
  denies: boolean;
}

/**
 * Post-response content rules for a stream: it counts matches for the record, `flag` is recorded,
 * and an enforced `deny` asks the caller to cut. Redacting is the stream filters' work
 * (stream-filter.ts): `redacted: true` says the caller runs them, so `redact` matches are recorded
 * as applied (false: the text went out as it came). Memory is bounded: the buffer is the last
 * SHORT characters plus a token or a match still open at the end (at most TAIL, MAX_PENDING).
 */
export function createResponseScanner(set: CompiledPolicySet, ctx: CallContext, opts: { redacted?: boolean } = {}): ResponseScanner {
  const states: PolicyState[] = set.policies
    .filter((p) => p.post && p.action !== null && selects(p, ctx))
    .map((p) => ({ p, counts: new HitCounts(), countedTo: 0, pendingAt: -1, denies: p.action === 'deny' && p.mode === 'enforce' }));
  let buf = '';
  /** Absolute offset of buf[0] in the whole stream. */
  let bufStart = 0;
  let unscanned = 0;
  /** Characters pushed since the matches that may still grow were last read. */
  let sincePending = 0;
  const tokens = new TokenStarts();
  let cut: ScanStep = { cut: false };

  const scan = (final: boolean): void => {
    const end = bufStart + buf.length;
    const newStart = buf.length - unscanned;
    unscanned = 0;
    let { at: from, trusted } = shortStart(buf, newStart, bufStart === 0);
    // a token begun before this text may end in it (read before the new text updates them)
    const token = tokens.first(end - TAIL);
    if (token !== -1 && token - bufStart < from) {
      from = token - bufStart;
      trusted = true;
    }
    tokens.read(buf, newStart, bufStart);
    let pendingMin = Infinity;
    for (const st of states) if (st.pendingAt !== -1) pendingMin = Math.min(pendingMin, st.pendingAt);
    // A match that may still grow is read again once the new text is a share of its length, not per token.
    const pendingDue = final || (pendingMin !== Infinity && sincePending * PENDING_SHARE >= end - pendingMin);
    if (pendingDue) {
      sincePending = 0;
      if (pendingMin - bufStart < from) {
        from = Math.max(0, pendingMin - bufStart);
        trusted = true;
      }
    }
    const window = from === 0 ? buf : buf.slice(from);
    const views = new EscapeViews();
    // A start inside a word: what matches right there may be the tail of a longer word (a longer run of digits).
    const floor = trusted ? 0 : LOOKBEHIND;
    for (const st of states) {
      // its hits after the open match are read with it
      if (st.pendingAt !== -1 && !pendingDue) continue;
      st.pendingAt = -1;
      for (const h of findHits(st.p.content, window, views)) {
        const start = bufStart + from + h.start;
        if (h.start < floor || start < st.countedTo) continue;
        // A hit reaching the end of what we have may still grow (`a@b.co` + `m`): counting waits
        // for its full extent. An enforced deny does not: the text already matches, and waiting
        // would forward it.
        if (!final && h.end === window.length && !st.denies) {
          st.pendingAt = Math.max(start, end - MAX_PENDING);
          break;
        }
        st.counts.add([h]);
        st.countedTo = bufStart + from + h.end;
        if (!cut.cut && st.denies) {
          cut = { cut: true, policy: st.p.name, reason: denyReason(st.p, [], [h.source]) };
        }
      }
    }
    // Keep what a later scan may read: the reach of the next check, an open token, an open match.
    let keep = end - SHORT - 8;
    const open = tokens.first(end - TAIL);
    if (open !== -1) keep = Math.min(keep, open);
    for (const st of states) if (st.pendingAt !== -1) keep = Math.min(keep, st.pendingAt);
    const keepFrom = escapeSafeCut(buf, Math.max(0, keep - bufStart - 8));
    if (keepFrom > 0) {
      buf = buf.slice(keepFrom);
      bufStart += keepFrom;
    }
  };

  return {
    push(textDelta) {
      if (cut.cut || states.length === 0 || textDelta.length === 0) return cut;
      buf += textDelta;
      unscanned += textDelta.length;
      sincePending += textDelta.length;
      if (unscanned >= STEP) scan(false);
      return cut;
    },
    check() {
      if (!cut.cut && states.length > 0 && unscanned > 0) scan(false);
      return cut;
    },
    finish() {
      if (!cut.cut && states.length > 0) scan(true);
      const matches: RuleMatch[] = [];
      for (const { p, counts } of states) {
        for (const e of counts.entries.values()) {
          const applied =
            p.mode === 'enforce' &&
            (p.action === 'flag' || (p.action === 'redact' && opts.redacted === true) || (p.action === 'deny' && cut.policy === p.name));
          const { rule, source: detector, count } = e;
          matches.push({ policy: p.name, rule, action: p.action ?? 'flag', mode: p.mode, detector, count, applied });
        }
      }
      return { ...cut, matches };
    },
  };
}

/**
 * Where a scan of new text from `newStart` begins: KEEP characters before it, moved back to the
 * start of the word there (words end at spaces and at their escapes in JSON text, `\n`), at most
 * SHORT. `trusted` is false when no word start was found: the scan then begins KEEP characters
 * back, inside a word.
 */
function shortStart(buf: string, newStart: number, atTextStart: boolean): { at: number; trusted: boolean } {
  const floor = Math.max(0, newStart - SHORT);
  let at = Math.max(0, newStart - KEEP);
  while (at > floor && !breaksBefore(buf, at)) at--;
  if (breaksBefore(buf, at) || (at === 0 && atTextStart)) return { at, trusted: true };
  // inside a long word: KEEP is enough, what started further back is found through its start (above)
  return { at: escapeSafeCut(buf, Math.max(0, newStart - KEEP)), trusted: false };
}

/** Letters, digits, `_` and `-`: what a JWT segment is made of (base64url). */
function base64url(c: number): boolean {
  return (c >= 48 && c <= 57) || (c >= 65 && c <= 90) || (c >= 97 && c <= 122) || c === 95 || c === 45;
}

/**
 * The starts of the `eyJ…` runs that may still become a JSON Web Token (base64url segments, at
 * most three, joined by dots), in order, with the dots each has passed. A token matches only once
 * its third segment has begun, possibly far from its start; anything else ends it.
 */
class TokenStarts {
  #starts: number[] = [];
  #dots: number[] = [];

  /** The earliest open token starting at or after `min` (older ones are dropped), or -1. */
  first(min: number): number {
    while (this.#starts.length > 0 && (this.#starts[0] as number) < min) {
      this.#starts.shift();
      this.#dots.shift();
    }
    return this.#starts[0] ?? -1;
  }

  read(buf: string, from: number, bufStart: number): void {
    for (let i = from; i < buf.length; i++) {
      const c = buf.charCodeAt(i);
      if (base64url(c)) {
        // `eyJ` after a non-word character or a JSON escape (`\neyJ…`)
        if (c === 74 && buf.charCodeAt(i - 1) === 121 && buf.charCodeAt(i - 2) === 101 && (!base64url(buf.charCodeAt(i - 3)) || breaksBefore(buf, i - 2))) {
          this.#starts.push(bufStart + i - 2);
          this.#dots.push(0);
        }
      } else if (c === 46 && this.#starts.length > 0) {
        for (let k = this.#dots.length - 1; k >= 0; k--) {
          if (++(this.#dots[k] as number) > 2) {
            this.#starts.splice(k, 1);
            this.#dots.splice(k, 1);
          }
        }
      } else if (this.#starts.length > 0) {
        this.#starts.length = 0;
        this.#dots.length = 0;
      }
    }
  }
}
