import type { CompiledPolicy } from './compile.ts';
import { anyGlob, callModelMatches } from './glob.ts';
import type { MetadataFieldName, StoredMode } from './schema.ts';
import type { CallContext, CallMeta } from './types.ts';

/** Whether a policy's `match:` selects this call. A selector field on absent metadata does not match. */
export function selects(p: CompiledPolicy, ctx: CallContext): boolean {
  const s = p.selector;
  if (s === null) return true;
  const m = ctx.meta;
  if (s.endpoint !== null && !s.endpoint.has(ctx.endpoint)) return false;
  if (s.model !== null && !callModelMatches(s.model, ctx)) return false;
  if (!field(s.project, m.project)) return false;
  if (!field(s.key, m.keyId)) return false;
  if (!field(s.user, m.user)) return false;
  for (const [name, globs] of s.properties) {
    if (!field(globs, m.properties?.[name])) return false;
  }
  return true;
}

/** An enforced post-response policy that changes what the client gets: `redact` masks, `deny` cuts. */
export function treatsAnswers(p: CompiledPolicy): boolean {
  return p.post && p.mode === 'enforce' && (p.action === 'redact' || p.action === 'deny');
}

/**
 * Whether any post-response policy (enforced or shadow, any action) selects this call: its answer
 * must then be read as it streams. False lets a stream pass as raw bytes.
 */
export function watchesAnswers(set: { policies: readonly CompiledPolicy[] }, ctx: CallContext): boolean {
  return set.policies.some((p) => p.post && p.action !== null && selects(p, ctx));
}

const tags = new WeakMap<CompiledPolicy, string>();

/**
 * What a call's answers depend on among the policies: the enforced post-response `redact` and
 * `deny` policies that select it, as written. Two calls with the same tag get their answers
 * treated alike, so a cache keyed on it never serves an answer checked under other rules (another
 * user's, or before a policy changed). '' when none applies.
 */
export function answerPolicyTag(set: { policies: readonly CompiledPolicy[] }, ctx: CallContext): string {
  let tag = '';
  for (const p of set.policies) {
    if (!treatsAnswers(p) || !selects(p, ctx)) continue;
    let t = tags.get(p);
    if (t === undefined) tags.set(p, (t = JSON.stringify(p.config)));
    tag += `${t}\n`;
  }
  return tag;
}

function field(globs: RegExp[] | null, value: string | null | undefined): boolean {
  if (globs === null) return true;
  return value !== undefined && value !== null && anyGlob(globs, value);
}

export function metaValue(meta: CallMeta, f: MetadataFieldName): string | null | undefined {
  switch (f) {
    case 'user':
      return meta.user;
    case 'session':
      return meta.session;
    case 'project':
      return meta.project;
    case 'key':
      return meta.keyId;
    default:
      return meta.properties?.[f.slice('property:'.length)];
  }
}

const STRICTNESS: Record<StoredMode, number> = { keep: 0, redact: 1, drop: 2 };

export function stricter(a: StoredMode, b: StoredMode | null): StoredMode {
  return b !== null && STRICTNESS[b] > STRICTNESS[a] ? b : a;
}
