/**
 * Globs as users write them in policies: `*` is any run of characters (`/` included, so
 * `openai/*` and `*gpt-4*` work), `?` is one character, everything else is literal. Matching is
 * case-insensitive: model names and ids are not case-significant to the people writing rules.
 * Built once at load; `test` on a non-global regex keeps no state between calls.
 */
export function compileGlob(glob: string): RegExp {
  let src = '';
  for (const ch of glob) {
    if (ch === '*') src += '.*';
    else if (ch === '?') src += '.';
    else src += ch.replace(/[.+^${}()|[\]\\/]/, '\\$&');
  }
  return new RegExp(`^${src}$`, 'is');
}

export function anyGlob(globs: readonly RegExp[], value: string): boolean {
  for (const g of globs) if (g.test(value)) return true;
  return false;
}

/**
 * Model globs are tried on the model as sent and on it without a `provider/` prefix, so
 * `deny_models: ["gpt-4.5*"]` also catches `openai/gpt-4.5-preview`.
 */
export function modelMatches(globs: readonly RegExp[], model: string): boolean {
  if (anyGlob(globs, model)) return true;
  const slash = model.lastIndexOf('/');
  return slash !== -1 && anyGlob(globs, model.slice(slash + 1));
}

/** Whether the globs match the call's model by either of its names: as asked, or as routed. */
export function callModelMatches(globs: readonly RegExp[], call: { model: string; routed?: string | undefined }): boolean {
  return modelMatches(globs, call.model) || (call.routed !== undefined && modelMatches(globs, call.routed));
}
