import type { ContentScanner } from './compile.ts';
import { resolveOverlaps, scanDetector } from './detectors/scan.ts';
import type { Hit } from './detectors/types.ts';
import { decodeEscapes, type EscapeViews } from './escapes.ts';

/**
 * Placeholders for one call: the same value gets the same placeholder everywhere in the call
 * (`[EMAIL_1]` in the system prompt and in the third message), numbered per class in order of
 * first appearance.
 */
export class Placeholders {
  readonly #byValue = new Map<string, string>();
  readonly #next = new Map<string, number>();

  get(label: string, value: string): string {
    const key = `${label}\u0000${value}`;
    let p = this.#byValue.get(key);
    if (p === undefined) {
      const n = (this.#next.get(label) ?? 0) + 1;
      this.#next.set(label, n);
      p = `[${label}_${n}]`;
      this.#byValue.set(key, p);
    }
    return p;
  }
}

export interface RuleHit extends Hit {
  rule: ContentScanner['rule'];
}

/**
 * Every hit of `scanners` in `text`, overlaps resolved (lower rank wins). Text with backslash
 * escapes (JSON inside a string) is scanned decoded, so `\nsk-…` is a key after a line break, and
 * the hits are mapped back onto whole escape sequences (escapes.ts). User patterns and keywords
 * also run on the text as it is, so one written against a literal backslash still matches; their
 * edges are moved off escapes. `views` shares the decoding between the policies of a call.
 */
export function findHits(scanners: readonly ContentScanner[], text: string, views?: EscapeViews): RuleHit[] {
  const view = views === undefined ? decodeEscapes(text) : views.of(text);
  if (view === null) return resolveOverlaps(scanAll(scanners, text, []));
  const hits = scanAll(scanners, view.text, []);
  for (const h of hits) {
    h.start = view.from(h.start);
    h.end = view.from(h.end);
  }
  const own = scanners.filter((s) => s.rule !== 'detect');
  if (own.length > 0) hits.push(...keepJsonEscapes(text, scanAll(own, text, [])));
  return resolveOverlaps(hits);
}

function scanAll(scanners: readonly ContentScanner[], text: string, hits: RuleHit[]): RuleHit[] {
  for (const s of scanners) {
    const from = hits.length;
    scanDetector(s.detector, text, hits, s.rank);
    for (let i = from; i < hits.length; i++) (hits[i] as RuleHit).rule = s.rule;
  }
  return hits;
}

/** Replaces `hits` (sorted, non-overlapping) with their placeholders. */
export function applyHits(text: string, hits: readonly Hit[], placeholders: Placeholders): string {
  if (hits.length === 0) return text;
  let out = '';
  let at = 0;
  for (const h of hits) {
    out += text.slice(at, h.start) + placeholders.get(h.label, text.slice(h.start, h.end));
    at = h.end;
  }
  return out + text.slice(at);
}

/** Hit counts keyed by rule and source, in first-seen order (what matches report). */
export class HitCounts {
  readonly entries = new Map<string, { rule: ContentScanner['rule']; source: string; count: number }>();

  add(hits: readonly RuleHit[]): void {
    for (const h of hits) {
      const rule = h.rule;
      const key = `${rule}\u0000${h.source}`;
      const e = this.entries.get(key);
      if (e === undefined) this.entries.set(key, { rule, source: h.source, count: 1 });
      else e.count++;
    }
  }

  get size(): number {
    return this.entries.size;
  }
}

/**
 * For JSON text: moves hit edges off escape sequences, so `\njane@x.com` (the `n` is a legal
 * e-mail character) becomes `\n[EMAIL_1]`, not the invalid escape `\[EMAIL_1]`. Backslash runs
 * count whole, whatever their length, as in decodeEscapes (JSON in JSON doubles them): a start
 * just after a run skips the escape letter that follows it (`\uXXXX`: 5 characters), or takes the
 * run in when no escape letter follows (`C:\\Users`); an end just after a run leaves the run out.
 */
export function keepJsonEscapes(text: string, hits: RuleHit[]): RuleHit[] {
  const out: RuleHit[] = [];
  for (const h of hits) {
    let { start, end } = h;
    if (text.charCodeAt(start - 1) === 92) {
      let letter = start;
      while (text.charCodeAt(letter) === 92) letter++;
      start = ESCAPE_LETTERS.includes(text[letter] ?? '_') ? letter + (text[letter] === 'u' ? 5 : 1) : runStart(text, start - 1);
    }
    if (text.charCodeAt(end - 1) === 92) end = runStart(text, end - 1);
    if (end > start) out.push(start === h.start && end === h.end ? h : { ...h, start, end });
  }
  return out;
}

const ESCAPE_LETTERS = 'ntrbf"/u';

/** Where the run of backslashes that `at` is part of starts. */
function runStart(text: string, at: number): number {
  while (at > 0 && text.charCodeAt(at - 1) === 92) at--;
  return at;
}
