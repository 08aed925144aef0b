import type { z } from 'zod';

/**
 * The `error` option of a strict object schema: an unknown key (a body field or query parameter)
 * is refused with a message naming it and the keys `what` takes. Silently ignored, a misspelt
 * field or filter stores or returns something else than was meant (`session` for `session_id`,
 * a typo in a filter). `hints` maps names people reach for (the column names) to the accepted
 * one. Other issues keep zod's text.
 */
export function unknownKeys(
  noun: 'field' | 'parameter',
  what: string,
  accepted: readonly string[],
  hints: Readonly<Record<string, string>> = {},
): z.core.$ZodErrorMap {
  return (issue) => {
    if (issue.code !== 'unrecognized_keys') return undefined;
    const keys = issue.keys.map((k) => {
      const hint = hints[k];
      return hint !== undefined && accepted.includes(hint) ? `${k} (did you mean ${hint}?)` : k;
    });
    return `unknown ${noun}${keys.length > 1 ? 's' : ''} ${keys.join(', ')}; ${what} takes ${accepted.join(', ')}`;
  };
}
