import type { Detector, Hit } from './types.ts';

/**
 * Pushes every validated occurrence of `re` in `text` onto `out`. Uses an `exec` loop on the
 * shared global regex: `matchAll`/`split` would clone the regex per call (ECMA-262
 * RegExp.prototype[@@matchAll] calls SpeciesConstructor), which is exactly what we avoid.
 */
export function scanRegex(
  re: RegExp,
  text: string,
  out: Hit[],
  label: string,
  source: string,
  rank: number,
  validate?: (candidate: string) => boolean,
  valueGroup = false,
): void {
  re.lastIndex = 0;
  for (let m = re.exec(text); m !== null; m = re.exec(text)) {
    const s = m[0];
    if (s.length === 0) {
      // An empty match (user regex like `a*`) would loop forever; step past it.
      re.lastIndex++;
      continue;
    }
    const end = m.index + s.length;
    const value = valueGroup ? (m[1] ?? '') : s;
    if (value.length === 0 || (validate !== undefined && !validate(value))) continue;
    out.push({ start: end - value.length, end, label, source, rank });
  }
  re.lastIndex = 0;
}

export function scanDetector(d: Detector, text: string, out: Hit[], rank: number): void {
  if (d.mayContain !== undefined && !d.mayContain(text)) return;
  if (d.scan !== undefined) return d.scan(text, (start, end) => void out.push({ start, end, label: d.label, source: d.id, rank }));
  if (d.anchor !== undefined) return scanAnchored(d, d.anchor, text, out, rank);
  scanRegex(d.re, text, out, d.label, d.id, rank, d.validate, d.valueGroup);
}

function scanAnchored(d: Detector, a: NonNullable<Detector['anchor']>, text: string, out: Hit[], rank: number): void {
  let from = 0;
  // The run of `back` characters before `at` is tracked as the scan moves forward, so each
  // character is classified once (backing up from every literal would read up to `max`
  // characters per literal: `1:1:1:…` has one every other character).
  let pos = 0;
  /** Where the run of `back` characters ending at `pos` starts; -1: before what was classified. */
  let runStart = 0;
  for (let at = text.indexOf(a.literal); at !== -1; at = text.indexOf(a.literal, from)) {
    if (pos < at - a.max - 1) {
      pos = at - a.max - 1;
      runStart = -1;
    }
    for (; pos < at; pos++) if (!a.back(text.charCodeAt(pos))) runStart = pos + 1;
    // A run longer than `max` cannot hold a match start: it would follow a `back` character.
    const start = runStart === -1 || at - runStart > a.max ? -1 : runStart;
    let m: RegExpExecArray | null = null;
    if (start !== -1) {
      a.sticky.lastIndex = start;
      m = a.sticky.exec(text);
    }
    if (m !== null && m[0].length > 0 && (d.validate === undefined || d.validate(m[0]))) {
      out.push({ start, end: start + m[0].length, label: d.label, source: d.id, rank });
      from = start + m[0].length;
    } else {
      from = at + a.literal.length;
    }
  }
}

/** True when `text` has an ASCII digit; most detectors need one. Faster than a regex test. */
export function hasDigit(text: string): boolean {
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (c >= 48 && c <= 57) return true;
  }
  return false;
}

/** Space, tab, CR or LF: where words end, for the stream scanner and the stream filters. */
export function isSpace(c: number): boolean {
  return c === 32 || c === 10 || c === 9 || c === 13;
}

/** Keeps the digits of a candidate (separators dropped). */
export function digitsOf(s: string): string {
  let d = '';
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c >= 48 && c <= 57) d += s[i];
  }
  return d;
}

/**
 * Sorts hits by position and drops any hit overlapping an earlier kept one. At equal start the
 * lower rank wins, then the longer hit, so a PEM block beats the e-mail inside its comment line.
 */
export function resolveOverlaps<H extends Hit>(hits: H[]): H[] {
  if (hits.length < 2) return hits;
  hits.sort((a, b) => a.start - b.start || a.rank - b.rank || b.end - a.end);
  const kept: H[] = [];
  let lastEnd = -1;
  for (const h of hits) {
    if (h.start < lastEnd) {
      const prev = kept[kept.length - 1];
      // A higher-priority hit that starts inside a weaker one replaces it (e.g. an API key
      // inside a long phone-like run is still an API key).
      if (prev !== undefined && h.rank < prev.rank && h.end >= prev.end) {
        kept[kept.length - 1] = h;
        lastEnd = h.end;
      }
      continue;
    }
    kept.push(h);
    lastEnd = h.end;
  }
  return kept;
}
