/** JSON.parse that answers undefined for text that is not JSON (provider bodies are not trusted). */
export function parseJson(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    return undefined;
  }
}

/**
 * Nesting no real request reaches (tool schemas nest a few dozen levels), and far from where
 * serialising a value overflows the stack: a body, or an event's free-form JSON, nested deeper is
 * refused with a 400.
 */
export const MAX_BODY_DEPTH = 512;

/**
 * Whether JSON `text` nests arrays/objects more than `max` levels deep, read before it is parsed:
 * V8's JSON.parse spends microseconds per level, so a 64 MB body of brackets would hold the event
 * loop (every call) for most of a minute and take gigabytes before any check on the parsed value.
 * One pass, and usually less: text with at most `max` opening brackets cannot nest deeper, which
 * native `indexOf` tells without a character loop. Malformed text is left to the parser.
 */
export function nestsDeeperText(text: string, max: number): boolean {
  let opens = 0;
  for (let i = text.indexOf('{'); i !== -1 && opens <= max; i = text.indexOf('{', i + 1)) opens++;
  for (let i = text.indexOf('['); i !== -1 && opens <= max; i = text.indexOf('[', i + 1)) opens++;
  if (opens <= max) return false;
  let depth = 0;
  let inString = false;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (inString) {
      if (c === 92) i++; // the escaped character, whatever it is
      else if (c === 34) inString = false;
    } else if (c === 34) inString = true;
    else if (c === 123 || c === 91) {
      if (++depth > max) return true;
    } else if (c === 125 || c === 93) depth--;
  }
  return false;
}

/** Whether `v` nests arrays/objects more than `max` levels deep. Descends at most `max` levels itself. */
export function nestsDeeper(v: unknown, max: number): boolean {
  if (v === null || typeof v !== 'object') return false;
  if (max === 0) return true;
  for (const child of Array.isArray(v) ? v : Object.values(v)) {
    if (nestsDeeper(child, max - 1)) return true;
  }
  return false;
}
