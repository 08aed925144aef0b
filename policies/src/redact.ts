import type { ContentScanner } from './compile.ts';
import { resolveOverlaps, scanDetector } from './detectors/scan.ts';
import type { Hit } from './detectors/types.ts';

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

/** Every hit of `scanners` in `text`, overlaps resolved (lower rank wins). */
export function findHits(scanners: readonly ContentScanner[], text: string): RuleHit[] {
  const hits: Hit[] = [];
  for (const s of scanners) {
    const from = hits.length;
    scanDetector(s.detector, text, hits, s.rank);
    for (let i = from; i < hits.length; i++) (hits[i] as RuleHit).rule = s.rule;
  }
  return resolveOverlaps(hits) as RuleHit[];
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
 * e-mail character) becomes `\n[EMAIL_1]`, not the invalid escape `\[EMAIL_1]`. A start right
 * after an unpaired backslash skips the escape (`\uXXXX` is 5 characters, the others 1); an end
 * on an unpaired backslash drops it.
 */
export function keepJsonEscapes(text: string, hits: RuleHit[]): RuleHit[] {
  const out: RuleHit[] = [];
  for (const h of hits) {
    let { start, end } = h;
    if (oddBackslashesBefore(text, start)) start += text[start] === 'u' ? 5 : 1;
    if (end > start && oddBackslashesBefore(text, end)) end -= 1;
    if (end > start) out.push(start === h.start && end === h.end ? h : { ...h, start, end });
  }
  return out;
}

function oddBackslashesBefore(text: string, at: number): boolean {
  let n = 0;
  for (let i = at - 1; i >= 0 && text.charCodeAt(i) === 92; i--) n++;
  return n % 2 === 1;
}
