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

/** Whether `v` nests arrays/objects more than `max` levels deep. Descends at most `max` levels itself. */
export function nestsDeeper(v: unknown, max: number): boolean {
  if (v === null || typeof v !== 'object') return false;
  if (max === 0) return true;
  for (const child of Array.isArray(v) ? v : Object.values(v)) {
    if (nestsDeeper(child, max - 1)) return true;
  }
  return false;
}
