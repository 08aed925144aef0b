import type { CompiledPolicy, CompiledPolicySet } from './compile.ts';
import { breaksBefore, escapeSafeCut, EscapeViews } from './escapes.ts';
import { denyReason } from './evaluate.ts';
import { findHits, HitCounts } from './redact.ts';
import { selects } from './select.ts';
import type { CallContext, RuleMatch } from './types.ts';

/**
 * Already-scanned text kept for the next scan, so a match split across chunks is still found:
 * at least KEEP characters (multi-word shapes such as `+44 20 7946 0958` or a spaced IBAN are
 * shorter), extended back to the start of the word straddling that point (e-mails, keys and
 * tokens have no spaces), at most TAIL characters.
 */
const KEEP = 64;
const TAIL = 1024;
/** New text accumulated before a scan: scanning every token would rescan the tail per token. */
const STEP = 64;
/** How long a match that touches the buffer end may keep the buffer growing (a PEM block). */
const MAX_PENDING = 20_000;

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
}

/**
 * Post-response content rules for a stream: it counts matches for the record, `flag` is recorded,
 * and an enforced `deny` asks the caller to cut. Redacting is the stream filters' work
 * (stream-filter.ts): `redacted: true` says the caller runs them, so `redact` matches are recorded
 * as applied (false: the text went out as it came). Memory is bounded: the buffer is the last TAIL
 * characters plus a match still open at the end (at most MAX_PENDING).
 */
export function createResponseScanner(set: CompiledPolicySet, ctx: CallContext, opts: { redacted?: boolean } = {}): ResponseScanner {
  const states: PolicyState[] = set.policies
    .filter((p) => p.post && p.action !== null && selects(p, ctx))
    .map((p) => ({ p, counts: new HitCounts(), countedTo: 0 }));
  let buf = '';
  /** Absolute offset of buf[0] in the whole stream. */
  let bufStart = 0;
  let unscanned = 0;
  let cut: ScanStep = { cut: false };

  const scan = (final: boolean): void => {
    unscanned = 0;
    let keepFrom = tailStart(buf);
    const views = new EscapeViews();
    for (const st of states) {
      for (const h of findHits(st.p.content, buf, views)) {
        if (bufStart + h.start < st.countedTo) continue;
        const denies = st.p.action === 'deny' && st.p.mode === 'enforce';
        // A hit reaching the end of what we have may still grow (`a@b.co` + `m`): counting waits
        // for its full extent. An enforced deny does not: the text already matches, and waiting
        // would forward it.
        if (!final && h.end === buf.length && !denies) {
          keepFrom = Math.min(keepFrom, Math.max(h.start, buf.length - MAX_PENDING));
          break;
        }
        st.counts.add([h]);
        st.countedTo = bufStart + h.end;
        if (!cut.cut && denies) {
          cut = { cut: true, policy: st.p.name, reason: denyReason(st.p, [], [h.source]) };
        }
      }
    }
    keepFrom = escapeSafeCut(buf, keepFrom);
    buf = buf.slice(keepFrom);
    bufStart += keepFrom;
  };

  return {
    push(textDelta) {
      if (cut.cut || states.length === 0 || textDelta.length === 0) return cut;
      buf += textDelta;
      unscanned += textDelta.length;
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

/** Words end at spaces and at their escapes in JSON text (`\n`), so the kept tail never starts glued to one. */
function tailStart(buf: string): number {
  const floor = Math.max(0, buf.length - TAIL);
  let at = Math.max(0, buf.length - KEEP);
  while (at > floor && !breaksBefore(buf, at)) at--;
  return at;
}
